// The syncer's side of ItemOutput: a directory handled one item at a time for --progress, and
// what a finished transfer tells its line. The rules of the output itself are in item_output.cc.
#include "sync/checksum.h"
#include "sync/syncer.h"

namespace ringkit::sync {

// With --progress a file's progress must show while it is copied, right under its name, so
// the directory's items are handled in file-list order, one at a time, and each is printed as
// soon as it is done, as rsync does. (Each file's data still moves several chunks at a time:
// big files are not slowed; directories of many small files are, as they are with rsync.)
Task<void> Syncer::sync_in_order(DirPair& dir, std::vector<Work>& files, const std::vector<size_t>& linked) {
  size_t next_linked = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    if (rep_.stopped() || interrupted()) break;
    Work& work = files[i];
    bool member = next_linked < linked.size() && linked[next_linked] == i;
    if (member) {
      ++next_linked;
      HardLinkGroup* group = links_.find(work.src->st);
      if (group != nullptr) co_await sync_linked(dir, work, *group);
    } else {
      co_await sync_nondir(dir, work);
    }
    print_work(work);
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
