#ifndef KBO_SHARED_DERIVED_ROW_ID_H_
#define KBO_SHARED_DERIVED_ROW_ID_H_

#include <vector>

#include "shared/entities.h"
#include "shared/result.h"
#include "shared/uuid.h"
#include "shared/value.h"

namespace kbo {

// DerivedRowId (shared/entities.h) with the row's values given by the
// entity's column index (as entity.columns; nullptr: no value), for a hot
// path that does not build a map of them per row (the server checks every
// pushed attendance row's id). The same ids and refusals; implemented in
// entities.cc beside it.
Result<Uuid> DerivedRowId(const Entity& entity,
                          const std::vector<const Value*>& by_column);

}  // namespace kbo

#endif  // KBO_SHARED_DERIVED_ROW_ID_H_
