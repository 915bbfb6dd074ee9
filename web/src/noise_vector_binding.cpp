// runNoiseVector(vector): one cacophony test vector (the JSON object of
// tests/data/noise_25519_chachapoly_blake2b.json) run through the wasm build's Noise code,
// as tests/crypto/noise_vectors_test.cpp runs it natively: the ciphertext of every message,
// handshake then transport, in hex, for the test (tests/web/) to compare with the vector's.
// Returns {error} when a step fails. Some hundred bytes of wasm that only the test calls.
#include <emscripten/bind.h>

#include <sodium.h>

#include "crypto/handshake_state.hpp"

namespace peermq::web {
namespace {

using emscripten::val;
using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(const std::string& hex) {
  Bytes out(hex.size() / 2);
  std::size_t length = 0;
  sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &length, nullptr);
  out.resize(length);
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  std::string hex(2 * bytes.size() + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes.data(), bytes.size());
  hex.pop_back();
  return hex;
}

struct Side {
  Bytes prologue, ephemeral, local_static, remote_static;
};

Side side_of(const val& v, const std::string& prefix) {
  auto field = [&](const char* name) {
    const val f = v[prefix + name];
    return f.isUndefined() ? Bytes{} : from_hex(f.as<std::string>());
  };
  return {field("_prologue"), field("_ephemeral"), field("_static"), field("_remote_static")};
}

Result<crypto::HandshakeState> make(const std::string& pattern, crypto::NoiseRole role,
                                    const Side& s) {
  crypto::HandshakeConfig c;
  c.pattern = pattern;
  c.role = role;
  c.prologue = s.prologue;
  c.fixed_ephemeral = std::span<const std::uint8_t, 32>(s.ephemeral.data(), 32);
  if (!s.local_static.empty())
    c.local_static = std::span<const std::uint8_t, 32>(s.local_static.data(), 32);
  if (!s.remote_static.empty()) {
    crypto::NoisePublicKey rs{};
    std::copy_n(s.remote_static.begin(), 32, rs.begin());
    c.remote_static = rs;
  }
  return crypto::HandshakeState::create(c);
}

val run_noise_vector(const val& vector) {
  val out = val::array();
  auto fail = [](const std::string& why) {
    val e = val::object();
    e.set("error", why);
    return e;
  };
  const std::string pattern = vector["pattern"].as<std::string>();
  auto init = make(pattern, crypto::NoiseRole::initiator, side_of(vector, "init"));
  auto resp = make(pattern, crypto::NoiseRole::responder, side_of(vector, "resp"));
  if (!init || !resp) return fail("create");
  const val messages = vector["messages"];
  const auto count = messages["length"].as<unsigned>();
  unsigned i = 0;
  for (; !init->is_complete() && i < count; ++i) {
    auto& sender = i % 2 == 0 ? *init : *resp;
    auto& receiver = i % 2 == 0 ? *resp : *init;
    Bytes wire, payload;
    if (!sender.write_message(from_hex(messages[i]["payload"].as<std::string>()), wire) ||
        !receiver.read_message(wire, payload)) {
      return fail("handshake message " + std::to_string(i));
    }
    out.call<void>("push", to_hex(wire));
  }
  auto ic = init->split();
  auto rc = resp->split();
  if (!ic || !rc) return fail("split");
  const bool one_way = pattern.size() == 1;
  for (; i < count; ++i) {
    const bool from_init = one_way || i % 2 == 0;
    auto& send = from_init ? ic->send : rc->send;
    auto& receive = from_init ? rc->receive : ic->receive;
    Bytes wire, payload;
    if (!send.encrypt_with_ad({}, from_hex(messages[i]["payload"].as<std::string>()), wire) ||
        !receive.decrypt_with_ad({}, wire, payload)) {
      return fail("transport message " + std::to_string(i));
    }
    out.call<void>("push", to_hex(wire));
  }
  return out;
}

}  // namespace

EMSCRIPTEN_BINDINGS(peermq_noise_vectors) {
  emscripten::function("runNoiseVector", &run_noise_vector);
}

}  // namespace peermq::web
