#include "shared/merge.h"

namespace kbo {

bool WinsLww(const CellVersion& incoming, const CellVersion& current) {
  return incoming.hlc > current.hlc;
}

bool Wins(const Column& column, const CellVersion& incoming,
          const CellVersion& current) {
  if (column.policy == MergePolicy::kForward) {
    // (rank, hlc) is a strict total order: the furthest stage wins whatever
    // the arrival order; equal ranks fall back to last-writer-wins.
    const int in_rank = EnumRank(column, incoming.value);
    const int cur_rank = EnumRank(column, current.value);
    if (in_rank != cur_rank) return in_rank > cur_rank;
  }
  return WinsLww(incoming, current);
}

bool IsConflict(const IncomingWrite& incoming, const CurrentCell& current) {
  return incoming.device != current.device &&
         incoming.value != current.value && incoming.base < current.seq;
}

}  // namespace kbo
