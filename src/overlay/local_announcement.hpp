// LocalAnnouncement: how nodes on one host find each other with no relay and no server.
//
// Every node writes a small signed record naming its endpoints to a file in a per-user
// runtime directory, named by its address:
//     $XDG_RUNTIME_DIR/peermq/<address>.peer   (else /tmp/peermq-<uid>/<address>.peer)
// The directory is the user's own (mode 0700), so only the user's nodes see each other.
// A node rewrites its file every limits::kLocalDiscoveryInterval (write to a temporary
// file, rename into place) and removes it on a clean exit. To dial ADDR with no relay, a
// node reads <ADDR>.peer and accepts it only through decode_local_announcement(): signed
// by ADDR's own key (a file another process planted cannot redirect the dial, and the
// session handshake authenticates the peer anyway), at most local_announcement_lifetime
// old (the file of a crashed node stops being used within seconds), not from the future.
// Files and directories are the runtime's business; this is the record and its checks.
//
// Format (msgpack): [version = 1, key: bin(32), endpoints: [bin(18)...] (1..max_endpoint_
// candidates), issued: unix milliseconds, signature: bin(64)]. The signature is Ed25519
// by `key` over "peermq local announcement v1" followed by the encoded bytes of the four
// fields before it, exactly as they appear in the record.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <peermq/address.hpp>
#include <peermq/clock.hpp>
#include <peermq/identity.hpp>
#include <peermq/result.hpp>

#include "overlay/overlay_message.hpp"

namespace peermq::overlay {

struct LocalAnnouncement {
  PublicKey key{};
  Candidates endpoints;  // 1..max_endpoint_candidates, each valid_endpoint()
  WallTime issued{};     // millisecond precision
};

// The record `identity` writes. `endpoints` must hold 1..max_endpoint_candidates valid
// endpoints (programmer error otherwise: std::invalid_argument).
std::vector<std::uint8_t> encode_local_announcement(const Identity& identity,
                                                    const Candidates& endpoints, WallTime now);

// Decodes and checks a record read from a file. `expected` is the key the file name
// promises (key_mismatch otherwise). Errors: wire::WireError (not a record), OverlayError
// bad_key, bad_endpoint, bad_signature, expired, from_future, key_mismatch.
Result<LocalAnnouncement> decode_local_announcement(std::span<const std::uint8_t> bytes,
                                                    const PublicKey& expected, WallTime now);

// "<address>.peer": the file name a node with `address` announces itself under.
std::string local_announcement_file_name(const Address& address);

}  // namespace peermq::overlay
