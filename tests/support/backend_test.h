// BackendTest: a fixture that runs each engine test once per backend.
//
// Use TEST_P(YourFixture, Name) with `class YourFixture : public ringkit::testing::BackendTest {}`
// and RINGKIT_BACKEND_TEST_SUITE(YourFixture). The io_uring instance skips, saying why, when
// io_uring is unusable here or RINGKIT_BACKEND=threads asks for the threads backend only.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "ringkit/executor.h"
#include "ringkit/probe.h"
#include "ringkit/settings.h"
#include "ringkit/task.h"

namespace ringkit::testing {

class BackendTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    const char* forced = std::getenv("RINGKIT_BACKEND");
    if (GetParam() == BackendKind::kUring) {
      if (forced != nullptr && std::string(forced) == "threads") {
        GTEST_SKIP() << "RINGKIT_BACKEND=threads: io_uring instance not run";
      }
      if (!probe_io_uring().usable) {
        GTEST_SKIP() << "io_uring unusable here: " << probe_io_uring().reason;
      }
    }
    settings_ = EngineSettings::from_env();
    settings_.backend = GetParam();
    settings_.fallback_on_error = false;
    tweak(settings_);
    executor_ = std::make_unique<Executor>(settings_);
  }
  void TearDown() override {
    executor_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // Override to change settings before the executor is built.
  virtual void tweak(EngineSettings&) {}

  Executor& ex() { return *executor_; }

  template <class T>
  T run(Task<T> task) {
    return executor_->run(std::move(task));
  }

  // A fresh directory for this test (removed afterwards), on `base` (default /tmp).
  const std::string& dir(const char* base = "/tmp") {
    if (dir_.empty()) {
      std::string tmpl = std::string(base) + "/ringkit-test-XXXXXX";
      char* made = mkdtemp(tmpl.data());
      if (made == nullptr) throw std::runtime_error("mkdtemp failed");
      dir_ = made;
    }
    return dir_;
  }

  EngineSettings settings_;
  std::unique_ptr<Executor> executor_;
  std::string dir_;
};

inline std::string backend_name(const ::testing::TestParamInfo<BackendKind>& info) {
  return info.param == BackendKind::kUring ? "uring" : "threads";
}

#define RINGKIT_BACKEND_TEST_SUITE(Fixture)                                                      \
  INSTANTIATE_TEST_SUITE_P(Backends, Fixture,                                                    \
                           ::testing::Values(::ringkit::BackendKind::kUring,                     \
                                             ::ringkit::BackendKind::kThreads),                  \
                           ::ringkit::testing::backend_name)

}  // namespace ringkit::testing
