// Runs every fuzz target (fuzz/*_fuzz.cc) over its saved corpus and a fixed-seed batch of
// mutations, so the parsers' "never crash" contract is checked on every test run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "fuzz_target.h"

namespace {

namespace fs = std::filesystem;

std::vector<std::vector<uint8_t>> load_corpus(const std::string& name) {
  std::vector<std::vector<uint8_t>> inputs;
  fs::path dir = fs::path(RINGKIT_SOURCE_DIR) / "fuzz" / "corpus" / name;
  if (!fs::is_directory(dir)) return inputs;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    inputs.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return inputs;
}

// Byte flips, truncations, insertions and splices: a small deterministic stand-in for
// libFuzzer that runs in every CI build.
std::vector<uint8_t> mutate(const std::vector<std::vector<uint8_t>>& corpus, std::mt19937& rng) {
  std::vector<uint8_t> out = corpus[rng() % corpus.size()];
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    switch (rng() % 5) {
      case 0:
        if (!out.empty()) out[rng() % out.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:
        if (!out.empty()) out.resize(rng() % out.size());
        break;
      case 2:
        out.insert(out.begin() + static_cast<long>(out.empty() ? 0 : rng() % out.size()),
                   static_cast<uint8_t>(rng()));
        break;
      case 3: {
        const auto& other = corpus[rng() % corpus.size()];
        out.insert(out.end(), other.begin(), other.end());
        break;
      }
      default:
        if (!out.empty()) out[rng() % out.size()] = static_cast<uint8_t>(rng() % 3 == 0 ? 0 : 0xff);
        break;
    }
  }
  return out;
}

TEST(FuzzReplay, EveryTargetSurvivesItsCorpusAndMutations) {
  if (ringkit::fuzz::registry().empty()) GTEST_SKIP() << "no fuzz targets defined yet";
  for (const auto& [name, fn] : ringkit::fuzz::registry()) {
    SCOPED_TRACE(name);
    auto corpus = load_corpus(name);
    EXPECT_FALSE(corpus.empty()) << "fuzz/corpus/" << name << " has no seed inputs";
    if (corpus.empty()) continue;
    for (const auto& input : corpus) fn(input.data(), input.size());
    std::mt19937 rng(12345);
    for (int i = 0; i < 20000; ++i) {
      auto input = mutate(corpus, rng);
      fn(input.data(), input.size());
    }
  }
}

}  // namespace
