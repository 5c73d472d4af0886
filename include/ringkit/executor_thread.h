// ExecutorThread: a worker thread that owns an Executor and keeps it running until stopped.
//
// A program that wants a second core starts one, then moves coroutines onto it with
// resume_on()/run_on() (resume_on.h). The worker's executor is built on the worker thread with
// the settings given (so it probes, picks its backend and owns its ring there) and runs posted
// work and the operations of coroutines that hopped onto it.
//
// Thread affinity: construct, stop() and destroy from one thread (the owner); executor() may be
// used from any thread as a target of resume_on/post. Invariant: between construction and
// stop() the worker's executor exists and drives its loop.
#pragma once

#include <memory>
#include <thread>

#include "ringkit/executor.h"
#include "ringkit/settings.h"

namespace ringkit {

class ExecutorThread {
 public:
  // Starts the thread and waits until its executor exists. Throws what the Executor's
  // constructor throws (e.g. io_uring unusable and no fallback allowed).
  explicit ExecutorThread(const EngineSettings& settings = EngineSettings::from_env());
  // stop()s if still running.
  ~ExecutorThread();
  ExecutorThread(const ExecutorThread&) = delete;
  ExecutorThread& operator=(const ExecutorThread&) = delete;

  // The worker's executor. Valid until stop().
  Executor& executor() { return *executor_; }

  // Runs what was posted before this call, then ends the loop, destroys the executor and joins
  // the thread. REQUIRES: no coroutine is still on the worker (every one that hopped there has
  // hopped away): the executor's destructor would cancel their operations.
  void stop();

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  Executor* executor_ = nullptr;
  std::thread thread_;
};

}  // namespace ringkit
