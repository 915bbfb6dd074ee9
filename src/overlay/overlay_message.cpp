#include "overlay/overlay_message.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <stdexcept>
#include <type_traits>

#include "wire/limits.hpp"

namespace peermq::overlay {
namespace {

using wire::MsgpackReader;
using wire::MsgpackRecord;
using wire::MsgpackWriter;

constexpr std::size_t kEndpointSize = 18;
constexpr std::uint64_t kMaxKeepaliveMs = 24ull * 3600 * 1000;

// What open() accepts: one control message, shallow, no strings.
const wire::MsgpackLimits kLimits{
    .max_input = limits::kOverlayMessageMax,
    .max_depth = 4,  // [type, ..., [endpoint...]] and room for a newer peer's extra field
    .max_entries = 32,
    .max_str = 64,
    .max_bin = static_cast<std::uint32_t>(limits::kRelayForwardMaxPacket),
    .max_ext = 64,
};

// Reads a record's fields in order and keeps the first error, so a decoder reads every
// field and checks once (after an error nothing more is read).
class Fields {
 public:
  explicit Fields(MsgpackRecord& rec) noexcept : rec_(rec) {}

  std::uint64_t u64() { return take(rec_.read_u64(), std::uint64_t{0}); }
  std::uint64_t u64(std::uint64_t min, std::uint64_t max) {
    return take(rec_.read_u64(min, max), std::uint64_t{0});
  }
  PublicKey key() {
    return take(rec_.field([](MsgpackReader& r) { return read_key(r); }), PublicKey{});
  }
  Endpoint observed() {
    return take(rec_.field([](MsgpackReader& r) { return read_observed(r); }), Endpoint{});
  }
  Candidates candidates(std::uint32_t min) {
    return take(rec_.field([&](MsgpackReader& r) {
      return read_candidates(r, min, static_cast<std::uint32_t>(limits::kMaxEndpointCandidates));
    }),
                Candidates{});
  }
  // nil (not found) or 0..max candidates (found; none for a node reached only through
  // the relay, over a WebSocket).
  std::optional<Candidates> optional_candidates() {
    return take(rec_.field([](MsgpackReader& r) {
      return r.read_optional([](MsgpackReader& f) {
        return read_candidates(f, 0, static_cast<std::uint32_t>(limits::kMaxEndpointCandidates));
      });
    }),
                std::optional<Candidates>{});
  }
  std::span<const std::uint8_t> packet() {
    auto p = take(rec_.read_bin(limits::kRelayForwardMaxPacket), std::span<const std::uint8_t>{});
    if (!error_ && p.empty()) error_ = OverlayError::empty_packet;
    return p;
  }

  std::error_code error() const noexcept { return error_; }

 private:
  template <class T>
  T take(Result<T> r, T fallback) {
    if (error_) return fallback;
    if (!r) {
      error_ = r.error();
      return fallback;
    }
    return std::move(*r);
  }

  MsgpackRecord& rec_;
  std::error_code error_;
};

// Each decoder reads its type's fields; the caller checks the error and finishes.
OverlayMessage read_body(MessageType type, Fields& f) {
  switch (type) {
    case MessageType::register_node: {
      Register m;
      m.seq = f.u64();
      m.candidates = f.candidates(0);
      return m;
    }
    case MessageType::registered: {
      Registered m;
      m.seq = f.u64();
      m.observed = f.observed();
      m.keepalive = std::chrono::milliseconds(f.u64(1, kMaxKeepaliveMs));
      return m;
    }
    case MessageType::unknown_peer: return UnknownPeer{};
    case MessageType::lookup: {
      Lookup m;
      m.request_id = f.u64();
      m.target = f.key();
      return m;
    }
    case MessageType::lookup_result: {
      LookupResult m;
      m.request_id = f.u64();
      m.target = f.key();
      auto candidates = f.optional_candidates();
      m.found = candidates.has_value();
      if (candidates) m.candidates = std::move(*candidates);
      return m;
    }
    case MessageType::punch_request: {
      PunchRequest m;
      m.target = f.key();
      m.nonce = f.u64();
      return m;
    }
    case MessageType::punch_notify: {
      PunchNotify m;
      m.peer = f.key();
      m.nonce = f.u64();
      m.candidates = f.candidates(1);
      return m;
    }
    case MessageType::forward: {
      Forward m;
      m.to = f.key();
      m.packet = f.packet();
      return m;
    }
    case MessageType::forwarded: {
      Forwarded m;
      m.from = f.key();
      m.packet = f.packet();
      return m;
    }
    case MessageType::probe: {
      Probe m;
      m.nonce = f.u64();
      m.seq = f.u64();
      return m;
    }
    case MessageType::probe_ack: {
      ProbeAck m;
      m.nonce = f.u64();
      m.seq = f.u64();
      m.observed = f.observed();
      return m;
    }
    case MessageType::ping: return Ping{f.u64()};
    case MessageType::pong: return Pong{f.u64()};
  }
  return UnknownPeer{};  // unreachable: the caller checked the type
}

void check_candidates(const Candidates& c, std::size_t min) {
  if (c.size() < min || c.size() > limits::kMaxEndpointCandidates) {
    throw std::invalid_argument("overlay message: candidate count out of range");
  }
}

void check_packet(std::span<const std::uint8_t> p) {
  if (p.empty() || p.size() > limits::kRelayForwardMaxPacket) {
    throw std::invalid_argument("overlay message: forwarded packet size out of range");
  }
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

const char* name(MessageType t) noexcept {
  switch (t) {
    case MessageType::register_node: return "register";
    case MessageType::registered: return "registered";
    case MessageType::unknown_peer: return "unknown_peer";
    case MessageType::lookup: return "lookup";
    case MessageType::lookup_result: return "lookup_result";
    case MessageType::punch_request: return "punch_request";
    case MessageType::punch_notify: return "punch_notify";
    case MessageType::forward: return "forward";
    case MessageType::forwarded: return "forwarded";
    case MessageType::probe: return "probe";
    case MessageType::probe_ack: return "probe_ack";
    case MessageType::ping: return "ping";
    case MessageType::pong: return "pong";
  }
  return "unknown";
}

MessageClass class_of(MessageType t) noexcept {
  switch (t) {
    case MessageType::register_node:
    case MessageType::lookup:
    case MessageType::punch_request:
    case MessageType::forward: return MessageClass::to_relay;
    case MessageType::registered:
    case MessageType::unknown_peer:
    case MessageType::lookup_result:
    case MessageType::punch_notify:
    case MessageType::forwarded: return MessageClass::from_relay;
    case MessageType::probe:
    case MessageType::probe_ack:
    case MessageType::ping:
    case MessageType::pong: return MessageClass::between_peers;
  }
  return MessageClass::between_peers;
}

MessageType type_of(const OverlayMessage& m) noexcept {
  // The variant's alternatives are listed in MessageType order, starting at 1.
  return static_cast<MessageType>(m.index() + 1);
}

bool valid_endpoint(const Endpoint& e) noexcept {
  return e.port() != 0 && !e.is_unspecified();
}

void write_endpoint(MsgpackWriter& w, const Endpoint& e) {
  std::array<std::uint8_t, kEndpointSize> b{};
  const auto ip = e.ip16();
  std::copy(ip.begin(), ip.end(), b.begin());
  b[16] = static_cast<std::uint8_t>(e.port() >> 8);
  b[17] = static_cast<std::uint8_t>(e.port() & 0xff);
  w.bin(b);
}

namespace {

// 18 bytes, checked for nothing but their length.
Result<Endpoint> read_endpoint_bytes(MsgpackReader& r) {
  auto b = r.read_bin(kEndpointSize);
  if (!b) return b.error();
  if (b->size() != kEndpointSize) return OverlayError::bad_endpoint;
  std::array<std::uint8_t, 16> ip{};
  std::copy(b->begin(), b->begin() + 16, ip.begin());
  return Endpoint::v6(ip, static_cast<std::uint16_t>(((*b)[16] << 8) | (*b)[17]));
}

}  // namespace

Result<Endpoint> read_endpoint(MsgpackReader& r) {
  auto e = read_endpoint_bytes(r);
  if (e && !valid_endpoint(*e)) return OverlayError::bad_endpoint;
  return e;
}

Result<Endpoint> read_observed(MsgpackReader& r) {
  auto e = read_endpoint_bytes(r);
  if (e && !valid_endpoint(*e) && !e->is_web()) return OverlayError::bad_endpoint;
  return e;
}

void write_candidates(MsgpackWriter& w, const Candidates& c) {
  w.array(static_cast<std::uint32_t>(c.size()));
  for (const Endpoint& e : c) write_endpoint(w, e);
}

Result<Candidates> read_candidates(MsgpackReader& r, std::uint32_t min, std::uint32_t max) {
  auto n = r.array(min, max);
  if (!n) return n.error();
  Candidates out;
  out.reserve(*n);
  for (std::uint32_t i = 0; i < *n; ++i) {
    auto e = read_endpoint(r);
    if (!e) return e.error();
    out.push_back(*e);
  }
  return out;
}

void write_key(MsgpackWriter& w, const PublicKey& k) {
  w.bin(k);
}

Result<PublicKey> read_key(MsgpackReader& r) {
  auto b = r.read_bin(kPublicKeySize);
  if (!b) return b.error();
  if (b->size() != kPublicKeySize) return OverlayError::bad_key;
  PublicKey k;
  std::copy(b->begin(), b->end(), k.begin());
  return k;
}

void encode(const OverlayMessage& m, std::vector<std::uint8_t>& out) {
  MsgpackWriter w(out);
  const auto type = static_cast<std::uint64_t>(type_of(m));
  std::visit(Overloaded{
                 [&](const Register& r) {
                   check_candidates(r.candidates, 0);
                   w.array(3).u64(type).u64(r.seq);
                   write_candidates(w, r.candidates);
                 },
                 [&](const Registered& r) {
                   w.array(4).u64(type).u64(r.seq);
                   write_endpoint(w, r.observed);
                   w.u64(static_cast<std::uint64_t>(std::clamp<std::int64_t>(
                       r.keepalive.count(), 1, static_cast<std::int64_t>(kMaxKeepaliveMs))));
                 },
                 [&](const UnknownPeer&) { w.array(1).u64(type); },
                 [&](const Lookup& l) {
                   w.array(3).u64(type).u64(l.request_id);
                   write_key(w, l.target);
                 },
                 [&](const LookupResult& l) {
                   w.array(4).u64(type).u64(l.request_id);
                   write_key(w, l.target);
                   if (l.found) {
                     check_candidates(l.candidates, 0);
                     write_candidates(w, l.candidates);
                   } else {
                     w.nil();
                   }
                 },
                 [&](const PunchRequest& p) {
                   w.array(3).u64(type);
                   write_key(w, p.target);
                   w.u64(p.nonce);
                 },
                 [&](const PunchNotify& p) {
                   check_candidates(p.candidates, 1);
                   w.array(4).u64(type);
                   write_key(w, p.peer);
                   w.u64(p.nonce);
                   write_candidates(w, p.candidates);
                 },
                 [&](const Forward& f) {
                   check_packet(f.packet);
                   w.array(3).u64(type);
                   write_key(w, f.to);
                   w.bin(f.packet);
                 },
                 [&](const Forwarded& f) {
                   check_packet(f.packet);
                   w.array(3).u64(type);
                   write_key(w, f.from);
                   w.bin(f.packet);
                 },
                 [&](const Probe& p) { w.array(3).u64(type).u64(p.nonce).u64(p.seq); },
                 [&](const ProbeAck& p) {
                   w.array(4).u64(type).u64(p.nonce).u64(p.seq);
                   write_endpoint(w, p.observed);
                 },
                 [&](const Ping& p) { w.array(2).u64(type).u64(p.id); },
                 [&](const Pong& p) { w.array(2).u64(type).u64(p.id); },
             },
             m);
}

std::vector<std::uint8_t> encode(const OverlayMessage& m) {
  std::vector<std::uint8_t> out;
  encode(m, out);
  return out;
}

Result<OverlayMessage> decode_message(std::span<const std::uint8_t> bytes) {
  auto r = MsgpackReader::open(bytes, kLimits);
  if (!r) return r.error();
  auto rec = r->record(1);
  if (!rec) return rec.error();
  auto type = rec->read_u64();
  if (!type) return type.error();
  if (*type < static_cast<std::uint64_t>(MessageType::register_node) ||
      *type > static_cast<std::uint64_t>(MessageType::pong)) {
    return OverlayError::unknown_message;
  }
  Fields fields(*rec);
  OverlayMessage m = read_body(static_cast<MessageType>(*type), fields);
  if (fields.error()) return fields.error();
  rec->finish();  // fields a newer peer appended
  return m;
}

}  // namespace peermq::overlay
