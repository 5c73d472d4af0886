// The syncer's side of ItemOutput: a directory handled one item at a time for --progress, and
// what a finished transfer tells its line. The rules of the output itself are in item_output.cc.
#include "sync/checksum.h"
#include "sync/parallel.h"
#include "sync/syncer.h"

namespace ringkit::sync {

namespace {

constexpr size_t kItemsInFlight = 64;
constexpr uint64_t kLiveFromSize = 1 << 20;  // files of a chunk or more show their progress live

}  // namespace

// With --progress a file's progress must show while it is copied, right under its name, as
// rsync's does. So the directory's items go in file-list order: each file of a megabyte or more
// (and each -H member, whose order matters) alone, its name and progress printed as it is
// copied; the runs of smaller items between them many at a time, as without --progress, each
// printed (with its progress lines) as soon as its run is done. Big files are not slowed, and
// trees of small files only a little.
Task<void> Syncer::sync_in_order(DirPair& dir, std::vector<Work>& files, const std::vector<size_t>& linked) {
  std::vector<bool> member(files.size(), false);
  for (size_t i : linked) member[i] = true;
  auto alone = [&](size_t i) { return member[i] || (files[i].src->is_reg() && files[i].src->st.stx_size >= kLiveFromSize); };
  for (size_t i = 0; i < files.size();) {
    if (rep_.stopped() || interrupted()) break;
    if (alone(i)) {
      Work& work = files[i];
      out_.set_live(true);
      HardLinkGroup* group = member[i] ? links_.find(work.src->st) : nullptr;
      if (group != nullptr) {
        co_await sync_linked(pair_for(dir, *work.src), work, *group);
      } else if (!member[i]) {
        co_await sync_nondir(pair_for(dir, *work.src), work);
      }
      out_.set_live(false);
      print_work(work);
      ++i;
      continue;
    }
    size_t end = i;
    while (end < files.size() && !alone(end)) ++end;
    size_t first = i;
    co_await parallel_for(end - first, kItemsInFlight, [&](size_t k) {
      Work& w = files[first + k];
      return sync_nondir(pair_for(dir, *w.src), w);  // (-R: the entry's own base)
    });
    for (size_t k = first; k < end; ++k) print_work(files[k]);
    i = end;
  }
}

Task<void> Syncer::note_sent(Work& work, int src_fd) {
  if (out_.wants_checksum()) {
    auto sum = co_await file_checksum(src_fd);
    if (sum) ItemOutput::set_checksum(work.line, *sum);
  }
  ItemOutput::mark_sent(work.line);
}

}  // namespace ringkit::sync
