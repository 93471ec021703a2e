#include "shared/change_set.h"

namespace kbo {

size_t CellCount(const ChangeSet& cs) {
  size_t n = 0;
  for (const RowChange& row : cs.rows) n += row.cells.size();
  return n;
}

}  // namespace kbo
