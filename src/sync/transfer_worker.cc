// Two executors: the plain write of a small regular file runs on a worker executor thread.
//
// One executor thread leaves a second core to whatever io-wq threads its punted operations
// happen to use; a copy of many small files is then bound by that one thread. So the write of a
// file (open the source, open a temp file, copy the data, set its attributes, link or rename it
// into place) hops to a worker executor (resume_on.h) and back, while the home executor walks,
// decides and prints. The worker part, write_plain(), takes plain inputs and returns a plain
// result; everything that touches state the home thread owns (the reporter, statistics, output
// lines and progress, partial-dir bookkeeping, hard-link groups) happens at home, after the hop
// back, in the order it did before.
//
// Which writes hop: a new or replaced regular file below kLargeCopy (large files go to the
// blocking pool already), copied by the ring (RINGKIT_SYNC_COPY unset, auto or ring). These stay
// at home, where their extra steps are: a copy from a basis dir (--copy-dest), --inplace, -S,
// -X/-A, -b, --delay-updates, --temp-dir, --progress/--info=progress2 (live counters) and a %C
// checksum in the output. RINGKIT_SYNC_THREADS=1, or a process allowed a single CPU (taskset,
// cpusets), keeps every write at home (threads.h).
#include <fcntl.h>

#include <string>

#include "ringkit/log.h"
#include "ringkit/resume_on.h"
#include "sync/syncer.h"

namespace ringkit::sync {

// What write_plain needs: plain values, no reference to the home thread's state.
struct Syncer::WorkerWrite {
  int src_dirfd = -1;
  std::string src_name;
  bool follow = false;  // the source is a symlink followed (-L etc.)
  int dst_dirfd = -1;
  std::string dst_name;
  bool replacing = false;  // `dst_name` exists
  uint64_t size = 0;
  uint64_t src_dev = kUnknownDevice;
  WantedAttrs want;
  mode_t create_mode = 0600;  // the temp file's (Syncer::create_mode)
};

// How far write_plain got, and why it stopped.
struct Syncer::WorkerWritten {
  enum class Stage { kOpenSource, kOpenTemp, kWrite, kAttrs, kInstall, kDone };
  Stage stage = Stage::kOpenSource;
  std::error_code error;
  uint64_t prefix = 0;  // kWrite: bytes from the start written completely
  TempFile tmp;         // kWrite: the temp file, kept or discarded at home
};

// The worker to write `e` on, or nullptr to write it at home (see the list above).
Executor* Syncer::worker_for(const Entry& e, const BasisMatch* copy_from) {
  if (workers_off_ || copy_from != nullptr || e.st.stx_size >= kLargeCopy) return nullptr;
  if (opt_.inplace || opt_.sparse || opt_.xattrs || opt_.acls || opt_.backup || opt_.delay_updates ||
      wd_.temp.valid() || out_.shows_progress() || out_.wants_checksum()) {
    return nullptr;
  }
  if (copy_.method != CopyMethod::kAuto && copy_.method != CopyMethod::kRing) return nullptr;
  if (worker_executor() == nullptr) return nullptr;
  // Balance: the worker takes a file while fewer than kWorkerBacklog of its writes are
  // unfinished there; beyond that, home writes the file itself. The worker never runs dry while
  // home can feed it, and home takes the overflow when the worker cannot keep up. (Comparing
  // writes in flight on each side, as before, starved the worker: home's direct-call writes are
  // rarely in flight, and a worker's write counts until home resumes it, not until it is done.)
  if (worker_backlog_.load(std::memory_order_relaxed) >= kWorkerBacklog) return nullptr;
  return &worker_->executor();
}

Executor* Syncer::worker_executor() {
  if (workers_off_) return nullptr;
  if (!worker_) {
    // The first use: only now are the CPUs counted and the thread started. The -v line says
    // what was decided (tests look for it).
    SyncThreads threads = sync_threads(threads_setting_);
    if (threads.count < 2) {
      log(LogLevel::kInfo, "executor threads: 1 (" + threads.why + ")");
      workers_off_ = true;
      return nullptr;
    }
    try {
      worker_ = std::make_unique<ExecutorThread>(Executor::current()->settings());
    } catch (const std::exception& ex) {
      log(LogLevel::kWarning, std::string("no worker executor (") + ex.what() + "); working on one thread");
      workers_off_ = true;
      return nullptr;
    }
    log(LogLevel::kInfo, "executor threads: 2 (" + threads.why + ")");
  }
  return &worker_->executor();
}

// At home: the write of a file on `worker`, then what write_regular does with the outcome.
Task<void> Syncer::write_on_worker(Executor& worker, DirPair& dir, Work& work, bool exists, WantedAttrs want) {
  Entry& e = *work.src;
  std::string rel = dir.rel + e.name;
  mode_t mode = co_await create_mode(dir, want);
  WorkerWrite job{dir.src.get(), e.name, e.followed,    dir.dst.get(), work.dst_name,
                  exists,         e.st.stx_size, device_of(e.st), want,          mode};
  worker_backlog_.fetch_add(1, std::memory_order_relaxed);  // less one when write_plain ends
  WorkerWritten done = co_await run_on(worker, write_plain(std::move(job)));
  using Stage = WorkerWritten::Stage;
  switch (done.stage) {
    case Stage::kOpenSource:
      if (done.error == std::errc::no_such_file_or_directory) {
        rep_.vanished(rel);
      } else {
        rep_.file_error("open", rel, done.error);
      }
      work.line.clear();
      co_return;
    case Stage::kOpenTemp:
      rep_.file_error("mkstemp", rel, done.error);  // the line stays, as in write_regular
      co_return;
    case Stage::kWrite:
      co_await copy_failed(dir, work, done.tmp, done.prefix, want, done.error);
      co_return;
    case Stage::kAttrs:
      co_await abandon(dir, {}, rel, "set attributes of", done.error, work);
      co_return;
    case Stage::kInstall:
      co_await abandon(dir, {}, rel, "rename", done.error, work);
      co_return;
    case Stage::kDone:
      break;
  }
  // (No progress counters to update: a write with progress output stays at home.)
  ItemOutput::mark_sent(work.line);
  co_await drop_partial(dir, work.dst_name);
  work.outcome = Work::Outcome::kDone;
  work.sent = Work::Sent::kData;
}

// On the worker: the steps of write_regular for a plain small file. Touches only `job`, the
// options, CopyState::worker and the file system. Its descriptors are closed here, except a
// temp file handed home after a failed copy.
Task<Syncer::WorkerWritten> Syncer::write_plain(WorkerWrite job) {
  struct Finished {  // on every way out
    std::atomic<size_t>& backlog;
    ~Finished() { backlog.fetch_sub(1, std::memory_order_relaxed); }
  } finished{worker_backlog_};
  WorkerWritten out;
  auto src = co_await fs::openat(job.src_dirfd, job.src_name, O_RDONLY | (job.follow ? 0 : O_NOFOLLOW));
  if (!src) {
    out.error = src.error();
    co_return out;
  }
  auto opened = co_await open_temp_beside(job.dst_dirfd, job.dst_name, job.replacing, job.create_mode);
  if (!opened) {
    out.stage = WorkerWritten::Stage::kOpenTemp;
    out.error = opened.error();
    co_return out;
  }
  TempFile tmp = std::move(*opened);
  auto copied = co_await copy_data_on(copy_.worker, src->get(), tmp.fd.get(), job.size, false, &out.prefix, job.src_dev);
  if (!copied) {
    out.stage = WorkerWritten::Stage::kWrite;
    out.error = copied.error();
    out.tmp = std::move(tmp);
    co_return out;
  }
  struct statx fresh = fresh_item();
  fresh.stx_mode = static_cast<uint16_t>(job.create_mode);
  auto attrs = co_await apply_attrs_fd(tmp.fd.get(), job.want, &fresh);
  if (!attrs) {
    co_await discard(tmp);
    out.stage = WorkerWritten::Stage::kAttrs;
    out.error = attrs.error();
    co_return out;
  }
  auto installed = co_await install_beside(job.dst_dirfd, job.dst_name, job.replacing, tmp);
  if (!installed) {
    co_await discard(tmp);
    out.stage = WorkerWritten::Stage::kInstall;
    out.error = installed.error();
    co_return out;
  }
  out.stage = WorkerWritten::Stage::kDone;
  co_return out;
}

}  // namespace ringkit::sync
