// netascii (RFC 1350 after RFC 764/854): the line-ending translation of "netascii" transfers.
//
// On the wire every line ends in CR LF and a bare CR is sent as CR NUL. Local files on Linux
// end lines in LF. So the sender (encoder) turns LF into CR LF and CR into CR NUL; the receiver
// (decoder) turns CR LF back into LF and CR NUL into CR. Every other byte, NUL and bytes >= 128
// included, passes unchanged (RFC 764 speaks of 7-bit ASCII; every implementation passes 8-bit
// bytes through, and so do we). decode(encode(x)) == x for every byte string x.
//
// Both are streaming: their state crosses calls, so a file can be encoded straight into blocks
// of any size (a CR LF may be split across two DATA packets) and decoded block by block.
//
// Peers that send a CR followed by anything but LF or NUL, or end a transfer on a CR, are
// breaking the rule; the decoder keeps such a CR as a CR (tftpd-hpa keeps it too) rather than
// lose a byte.
//
// Encoded size: netascii_encoded_size() / NetasciiSizeCounter give the number of bytes the
// encoder will produce (size + number of CRs + number of LFs). That needs one pass over the
// whole file before the transfer starts, so a server answering tsize for a netascii RRQ pays a
// full read; options.h lets it leave tsize unanswered instead.
//
// Encoder, decoder and counter are small values owned by one transfer; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace ringkit::tftp {

class NetasciiEncoder {
 public:
  struct Step {
    size_t consumed;  // bytes of `in` used
    size_t produced;  // bytes written to the front of `out`
  };

  // Encodes from `in` into `out` until `in` is used up or `out` is full. First writes the byte
  // held back by the previous call, if any. A CR or LF whose two wire bytes do not both fit is
  // consumed, its first byte written and its second held back (pending()).
  // REQUIRES: `in` and `out` do not overlap.
  Step encode(std::span<const std::byte> in, std::span<std::byte> out);

  // A byte is held back: the output is not complete until encode() (with empty `in` if the
  // input is over) has written it.
  bool pending() const { return pending_; }

 private:
  bool pending_ = false;
  std::byte held_{};  // valid when pending_
};

class NetasciiDecoder {
 public:
  // Decodes `in` into `out` and returns the bytes written. A CR at the end of `in` is held until
  // the next byte shows what it was.
  // REQUIRES: out.size() >= in.size() + 1 (a held CR may come out with the next byte);
  //           `in` and `out` do not overlap.
  size_t decode(std::span<const std::byte> in, std::span<std::byte> out);

  // At the end of the transfer: writes a held CR (a lone CR at the very end) and returns 1, or
  // returns 0. REQUIRES: out.size() >= 1 when pending_cr().
  size_t finish(std::span<std::byte> out);

  bool pending_cr() const { return pending_cr_; }

 private:
  bool pending_cr_ = false;
};

// Counts the netascii size of data given in pieces.
class NetasciiSizeCounter {
 public:
  void add(std::span<const std::byte> data);
  uint64_t size() const { return size_; }

 private:
  uint64_t size_ = 0;
};

uint64_t netascii_encoded_size(std::span<const std::byte> data);

}  // namespace ringkit::tftp
