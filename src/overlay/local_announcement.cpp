#include "overlay/local_announcement.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "wire/limits.hpp"
#include "wire/msgpack_reader.hpp"
#include "wire/msgpack_writer.hpp"

namespace peermq::overlay {
namespace {

constexpr std::uint64_t kVersion = 1;
constexpr std::string_view kContext = "peermq local announcement v1";

const wire::MsgpackLimits kLimits{
    .max_input = limits::kLocalAnnouncementMax,
    .max_depth = 3,
    .max_entries = 16,
    .max_str = 64,
    .max_bin = 64,
    .max_ext = 0,
};

std::vector<std::uint8_t> signed_bytes(std::span<const std::uint8_t> fields) {
  // One allocation of the final size (and no insert() into a 28-byte vector, which g++ 12
  // at -O3 misreads as an out-of-bounds copy).
  std::vector<std::uint8_t> m(kContext.size() + fields.size());
  std::copy(kContext.begin(), kContext.end(), m.begin());
  std::copy(fields.begin(), fields.end(), m.begin() + static_cast<std::ptrdiff_t>(kContext.size()));
  return m;
}

std::uint64_t unix_ms(WallTime t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch());
  return static_cast<std::uint64_t>(std::max<std::int64_t>(0, ms.count()));
}

}  // namespace

std::vector<std::uint8_t> encode_local_announcement(const Identity& identity,
                                                    const Candidates& endpoints, WallTime now) {
  if (endpoints.empty() || endpoints.size() > limits::kMaxEndpointCandidates ||
      !std::all_of(endpoints.begin(), endpoints.end(), valid_endpoint)) {
    throw std::invalid_argument("local announcement needs 1..max_endpoint_candidates endpoints");
  }
  std::vector<std::uint8_t> fields;
  wire::MsgpackWriter f(fields);
  f.u64(kVersion);
  write_key(f, identity.public_key());
  write_candidates(f, endpoints);
  f.u64(unix_ms(now));
  const Signature sig = identity.sign(signed_bytes(fields));

  std::vector<std::uint8_t> out;
  wire::MsgpackWriter w(out);
  w.array(5).raw(fields).bin(sig);
  return out;
}

Result<LocalAnnouncement> decode_local_announcement(std::span<const std::uint8_t> bytes,
                                                    const PublicKey& expected, WallTime now) {
  auto r = wire::MsgpackReader::open(bytes, kLimits);
  if (!r) return r.error();
  auto rec = r->record(5);
  if (!rec) return rec.error();
  const std::size_t fields_start = r->offset();
  auto version = rec->read_u64(kVersion, kVersion);
  if (!version) return version.error();
  auto key = rec->field([](wire::MsgpackReader& f) { return read_key(f); });
  if (!key) return key.error();
  auto endpoints = rec->field([](wire::MsgpackReader& f) {
    return read_candidates(f, 1, static_cast<std::uint32_t>(limits::kMaxEndpointCandidates));
  });
  if (!endpoints) return endpoints.error();
  auto issued_ms = rec->read_u64(0, std::uint64_t{1} << 42);  // year 2109: WallTime still holds it
  if (!issued_ms) return issued_ms.error();
  const std::size_t fields_end = r->offset();
  auto sig = rec->read_bin(kSignatureSize);
  if (!sig) return sig.error();
  if (sig->size() != kSignatureSize) return OverlayError::bad_signature;
  rec->finish();

  // Cheap checks first: only then the signature (tens of microseconds).
  if (*key != expected) return OverlayError::key_mismatch;
  const WallTime issued{std::chrono::duration_cast<WallTime::duration>(
      std::chrono::milliseconds(static_cast<std::int64_t>(*issued_ms)))};
  if (issued > now + limits::kLocalAnnouncementMaxSkew) return OverlayError::from_future;
  if (issued + limits::kLocalAnnouncementLifetime < now) return OverlayError::expired;
  Signature signature;
  std::copy(sig->begin(), sig->end(), signature.begin());
  if (!Identity::verify(*key, signed_bytes(bytes.subspan(fields_start, fields_end - fields_start)),
                        signature)) {
    return OverlayError::bad_signature;
  }
  return LocalAnnouncement{*key, std::move(*endpoints), issued};
}

std::string local_announcement_file_name(const Address& address) {
  return address.to_string() + ".peer";
}

}  // namespace peermq::overlay
