// netascii: golden translations, block-by-block encoding at every blksize from 1 to 17 and 512
// (so that every CR LF and CR NUL pair is split at a block boundary somewhere), every split
// point of the input and of the wire, the decoder's handling of malformed CRs, the encoded-size
// count, and a fixed-seed randomized round trip.
#include "tftp/netascii.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tftp_test_util.h"

namespace ringkit::tftp {
namespace {

using namespace std::string_literals;
using testing::as_span;
using testing::as_string;

std::string encode_all(const std::string& in) {
  NetasciiEncoder enc;
  std::vector<std::byte> out(in.size() * 2 + 1);
  auto step = enc.encode(as_span(in), out);
  EXPECT_EQ(step.consumed, in.size());
  EXPECT_FALSE(enc.pending());
  return as_string(std::span<const std::byte>(out).first(step.produced));
}

std::string decode_all(const std::string& wire) {
  NetasciiDecoder dec;
  std::vector<std::byte> out(wire.size() + 1);
  size_t n = dec.decode(as_span(wire), out);
  n += dec.finish(std::span<std::byte>(out).subspan(n));
  return as_string(std::span<const std::byte>(out).first(n));
}

// Encodes `file` into DATA blocks of `blksize` the way a server does: each block is filled
// completely unless the file is over. Input arrives in pieces of `chunk` bytes (a read size
// unrelated to blksize). Returns the blocks; the last is shorter than blksize (maybe empty).
std::vector<std::string> encode_blocks(const std::string& file, size_t blksize, size_t chunk) {
  NetasciiEncoder enc;
  std::vector<std::string> blocks;
  size_t pos = 0;
  for (;;) {
    std::vector<std::byte> block(blksize);
    size_t filled = 0;
    while (filled < blksize) {
      size_t take = std::min(chunk, file.size() - pos);
      auto step = enc.encode(as_span(file).subspan(pos, take), std::span<std::byte>(block).subspan(filled));
      pos += step.consumed;
      filled += step.produced;
      if (pos == file.size() && !enc.pending()) break;
    }
    blocks.push_back(as_string(std::span<const std::byte>(block).first(filled)));
    if (filled < blksize) return blocks;
  }
}

std::string decode_blocks(const std::vector<std::string>& blocks) {
  NetasciiDecoder dec;
  std::string file;
  for (const std::string& b : blocks) {
    std::vector<std::byte> out(b.size() + 1);
    file += as_string(std::span<const std::byte>(out).first(dec.decode(as_span(b), out)));
  }
  std::vector<std::byte> tail(1);
  file += as_string(std::span<const std::byte>(tail).first(dec.finish(tail)));
  return file;
}

const std::vector<std::string>& tricky_inputs() {
  static const std::vector<std::string> inputs = {
      ""s,
      "\n"s,
      "\r"s,
      "\r\n"s,
      "\r\0"s,
      "\0"s,
      "\n\r"s,
      "\r\r\n\n"s,
      "a\r"s,                       // trailing CR
      "line one\nline two\r\nline three\rend\r"s,
      "\r\0\r\0\n\0\r"s,
      "\0\0\n\r\n\r\r\0\n"s,
      "no line ends at all"s,
      "\xff\xfe\r\x80\n\x7f"s,      // 8-bit bytes pass through
      std::string(40, '\n'),
      std::string(40, '\r'),
  };
  return inputs;
}

TEST(Netascii, GoldenEncode) {
  EXPECT_EQ(encode_all("a\nb"), "a\r\nb");
  EXPECT_EQ(encode_all("a\rb"), "a\r\0b"s);
  EXPECT_EQ(encode_all("a\r\nb"), "a\r\0\r\nb"s) << "a local CR LF is a CR then a line end";
  EXPECT_EQ(encode_all("\0"s), "\0"s);
  EXPECT_EQ(encode_all("\r"), "\r\0"s);
  EXPECT_EQ(encode_all("x\xff\n"s), "x\xff\r\n"s);
}

TEST(Netascii, GoldenDecode) {
  EXPECT_EQ(decode_all("a\r\nb"), "a\nb");
  EXPECT_EQ(decode_all("a\r\0b"s), "a\rb");
  EXPECT_EQ(decode_all("\r\0\r\n"s), "\r\n");
  EXPECT_EQ(decode_all("\0"s), "\0"s);
}

TEST(Netascii, MalformedCarriageReturnsAreKept) {
  // RFC 854 allows CR only before LF or NUL. Peers that break that lose nothing here.
  EXPECT_EQ(decode_all("a\rb"), "a\rb");
  EXPECT_EQ(decode_all("\r\r\n"), "\r\n");
  EXPECT_EQ(decode_all("\r"), "\r") << "a lone CR at the very end";
  EXPECT_EQ(decode_all("x\r\r"), "x\r\r");
  EXPECT_EQ(decode_all("\n"), "\n") << "a bare LF is passed through";
}

TEST(Netascii, EveryInputRoundTripsAtEveryBlockSize) {
  std::vector<size_t> blksizes;
  for (size_t b = 1; b <= 17; ++b) blksizes.push_back(b);
  blksizes.push_back(512);
  for (const std::string& file : tricky_inputs()) {
    const std::string wire = encode_all(file);
    EXPECT_EQ(decode_all(wire), file);
    EXPECT_EQ(netascii_encoded_size(as_span(file)), wire.size());
    for (size_t blksize : blksizes) {
      for (size_t chunk : {size_t{1}, size_t{3}, size_t{4096}}) {
        SCOPED_TRACE(::testing::Message() << "blksize " << blksize << " chunk " << chunk
                                          << " input size " << file.size());
        auto blocks = encode_blocks(file, blksize, chunk);
        std::string joined;
        for (size_t i = 0; i < blocks.size(); ++i) {
          if (i + 1 < blocks.size()) {
            EXPECT_EQ(blocks[i].size(), blksize);
          }
          joined += blocks[i];
        }
        EXPECT_LT(blocks.back().size(), blksize);
        EXPECT_EQ(joined, wire) << "block boundaries must not change the encoding";
        EXPECT_EQ(blocks.size(), wire.size() / blksize + 1);
        EXPECT_EQ(decode_blocks(blocks), file);
      }
    }
  }
}

TEST(Netascii, EverySplitOfTheInputAndOfTheWire) {
  for (const std::string& file : tricky_inputs()) {
    const std::string wire = encode_all(file);
    for (size_t cut = 0; cut <= file.size(); ++cut) {
      NetasciiEncoder enc;
      std::vector<std::byte> out(wire.size() + 2);
      auto a = enc.encode(as_span(file).first(cut), out);
      auto b = enc.encode(as_span(file).subspan(cut), std::span<std::byte>(out).subspan(a.produced));
      EXPECT_EQ(a.consumed + b.consumed, file.size());
      EXPECT_EQ(as_string(std::span<const std::byte>(out).first(a.produced + b.produced)), wire)
          << "input cut at " << cut;
    }
    for (size_t cut = 0; cut <= wire.size(); ++cut) {
      EXPECT_EQ(decode_blocks({wire.substr(0, cut), wire.substr(cut)}), file) << "wire cut at " << cut;
    }
  }
}

TEST(Netascii, EncoderHoldsTheSecondByteOfASplitPair) {
  NetasciiEncoder enc;
  std::vector<std::byte> one(1);
  auto s = enc.encode(as_span("\n"s), one);
  EXPECT_EQ(s.consumed, 1u);
  EXPECT_EQ(s.produced, 1u);
  EXPECT_EQ(as_string(one), "\r");
  EXPECT_TRUE(enc.pending());
  // No room at all: nothing happens, the byte stays held.
  auto none = enc.encode(as_span("z"s), std::span<std::byte>());
  EXPECT_EQ(none.consumed, 0u);
  EXPECT_EQ(none.produced, 0u);
  EXPECT_TRUE(enc.pending());
  // The held byte goes out first, even with no new input.
  auto flush = enc.encode({}, one);
  EXPECT_EQ(flush.produced, 1u);
  EXPECT_EQ(as_string(one), "\n");
  EXPECT_FALSE(enc.pending());
}

TEST(Netascii, DecoderHoldsATrailingCr) {
  NetasciiDecoder dec;
  std::vector<std::byte> out(8);
  EXPECT_EQ(dec.decode(as_span("ab\r"s), out), 2u);
  EXPECT_TRUE(dec.pending_cr());
  EXPECT_EQ(dec.decode(as_span("\0"s), out), 1u);
  EXPECT_EQ(as_string(std::span<const std::byte>(out).first(1)), "\r");
  EXPECT_FALSE(dec.pending_cr());
  EXPECT_EQ(dec.finish(out), 0u);
}

TEST(Netascii, SizeCounterAddsUpPieces) {
  NetasciiSizeCounter counter;
  std::string file = "a\r\nb\rc\n\0"s;
  for (char c : file) counter.add(as_span(std::string(1, c)));
  EXPECT_EQ(counter.size(), encode_all(file).size());
  EXPECT_EQ(counter.size(), file.size() + 4);
}

TEST(Netascii, RandomizedRoundTripsWithAFixedSeed) {
  std::mt19937 rng(20240417);
  const char alphabet[] = {'\r', '\n', '\0', 'a', 'b', '\xff'};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string file(rng() % 300, ' ');
    for (char& c : file) c = alphabet[rng() % sizeof alphabet];
    size_t blksize = 1 + rng() % 40;
    size_t chunk = 1 + rng() % 50;
    SCOPED_TRACE(::testing::Message() << "iteration " << iter);
    auto blocks = encode_blocks(file, blksize, chunk);
    size_t total = 0;
    for (const auto& b : blocks) total += b.size();
    ASSERT_EQ(total, netascii_encoded_size(as_span(file)));
    ASSERT_EQ(decode_blocks(blocks), file);
  }
}

}  // namespace
}  // namespace ringkit::tftp
