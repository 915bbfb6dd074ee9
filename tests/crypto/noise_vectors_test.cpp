// The cacophony test vectors for Noise_*_25519_ChaChaPoly_BLAKE2b, reproduced byte for
// byte: every handshake message both ways, then the transport messages on the split
// ciphers. One TEST_CASE per pattern so that a failure names the pattern.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <optional>
#include <set>
#include <string>

#include "crypto/handshake_state.hpp"
#include "crypto/noise_test_util.hpp"

using namespace peermq::crypto;
using peermq::crypto::test::Bytes;
using peermq::crypto::test::from_hex;
using peermq::crypto::test::to_hex;

namespace {

constexpr const char* kVectorFile = PEERMQ_TEST_DATA_DIR "/noise_25519_chachapoly_blake2b.json";

nlohmann::json load_vectors() {
  std::ifstream in(kVectorFile);
  REQUIRE_MESSAGE(in.good(), "test vector file missing: ", kVectorFile);
  nlohmann::json file = nlohmann::json::parse(in);
  REQUIRE(file.contains("vectors"));
  return file["vectors"];
}

nlohmann::json find_vector(const std::string& pattern) {
  for (const auto& vector : load_vectors()) {
    if (vector.at("pattern") == pattern) return vector;
  }
  FAIL("no vector for pattern ", pattern);
  return {};
}

// One side's keys as hex strings from the vector, decoded; kept alive for create().
struct SideKeys {
  Bytes prologue, ephemeral;
  std::optional<Bytes> local_static, remote_static_public;
};

std::optional<Bytes> optional_hex(const nlohmann::json& vector, const std::string& key) {
  if (!vector.contains(key)) return std::nullopt;
  return from_hex(vector.at(key).get<std::string>());
}

SideKeys side_keys(const nlohmann::json& vector, const std::string& prefix) {
  SideKeys keys;
  keys.prologue = from_hex(vector.at(prefix + "_prologue").get<std::string>());
  keys.ephemeral = from_hex(vector.at(prefix + "_ephemeral").get<std::string>());
  keys.local_static = optional_hex(vector, prefix + "_static");
  keys.remote_static_public = optional_hex(vector, prefix + "_remote_static");
  return keys;
}

std::span<const std::uint8_t, 32> key32(const Bytes& bytes) {
  REQUIRE(bytes.size() == 32);
  return std::span<const std::uint8_t, 32>(bytes.data(), 32);
}

HandshakeState make_side(const std::string& pattern, NoiseRole role, const SideKeys& keys) {
  HandshakeConfig config;
  config.pattern = pattern;
  config.role = role;
  config.prologue = keys.prologue;
  config.fixed_ephemeral = key32(keys.ephemeral);
  if (keys.local_static) config.local_static = key32(*keys.local_static);
  if (keys.remote_static_public) {
    NoisePublicKey rs{};
    std::copy_n(key32(*keys.remote_static_public).begin(), 32, rs.begin());
    config.remote_static = rs;
  }
  auto state = HandshakeState::create(config);
  REQUIRE_MESSAGE(state.ok(), state.error().message());
  return std::move(state).value();
}

void run_vector(const std::string& pattern) {
  const nlohmann::json vector = find_vector(pattern);
  const std::string name = vector.at("name");
  INFO("vector ", name);
  REQUIRE(name == "Noise_" + pattern + "_25519_ChaChaPoly_BLAKE2b");
  HandshakeState initiator = make_side(pattern, NoiseRole::initiator, side_keys(vector, "init"));
  HandshakeState responder = make_side(pattern, NoiseRole::responder, side_keys(vector, "resp"));
  const auto& messages = vector.at("messages");
  const bool one_way = pattern.size() == 1;

  std::size_t i = 0;
  for (; !initiator.is_complete(); ++i) {
    INFO("handshake message ", i);
    REQUIRE(i < messages.size());
    const Bytes payload = from_hex(messages[i].at("payload").get<std::string>());
    HandshakeState& sender = i % 2 == 0 ? initiator : responder;
    HandshakeState& receiver = i % 2 == 0 ? responder : initiator;
    REQUIRE(sender.is_my_turn());
    Bytes wire, received;
    REQUIRE(sender.write_message(payload, wire).ok());
    CHECK(to_hex(wire) == messages[i].at("ciphertext").get<std::string>());
    REQUIRE(receiver.read_message(wire, received).ok());
    CHECK(received == payload);
  }
  REQUIRE(responder.is_complete());
  CHECK(to_hex(initiator.get_handshake_hash()) == to_hex(responder.get_handshake_hash()));

  auto init_ciphers = initiator.split();
  auto resp_ciphers = responder.split();
  REQUIRE(init_ciphers.ok());
  REQUIRE(resp_ciphers.ok());
  std::size_t transport_messages = 0;
  for (; i < messages.size(); ++i, ++transport_messages) {
    INFO("transport message ", i);
    const Bytes payload = from_hex(messages[i].at("payload").get<std::string>());
    const bool from_initiator = one_way || i % 2 == 0;
    CipherState& send = from_initiator ? init_ciphers->send : resp_ciphers->send;
    CipherState& receive = from_initiator ? resp_ciphers->receive : init_ciphers->receive;
    Bytes wire, received;
    REQUIRE(send.encrypt_with_ad({}, payload, wire).ok());
    CHECK(to_hex(wire) == messages[i].at("ciphertext").get<std::string>());
    REQUIRE(receive.decrypt_with_ad({}, wire, received).ok());
    CHECK(received == payload);
  }
  CHECK(transport_messages > 0);
}

}  // namespace

TEST_CASE("the vector file holds the 15 fundamental patterns of this suite") {
  std::set<std::string> patterns;
  for (const auto& vector : load_vectors()) patterns.insert(vector.at("pattern"));
  CHECK(patterns == std::set<std::string>{"N", "K", "X", "NN", "NK", "NX", "KN", "KK", "KX", "XN",
                                          "XK", "XX", "IN", "IK", "IX"});
}

TEST_CASE("Noise_N vector is reproduced byte for byte") {
  run_vector("N");
}
TEST_CASE("Noise_K vector is reproduced byte for byte") {
  run_vector("K");
}
TEST_CASE("Noise_X vector is reproduced byte for byte") {
  run_vector("X");
}
TEST_CASE("Noise_NN vector is reproduced byte for byte") {
  run_vector("NN");
}
TEST_CASE("Noise_NK vector is reproduced byte for byte") {
  run_vector("NK");
}
TEST_CASE("Noise_NX vector is reproduced byte for byte") {
  run_vector("NX");
}
TEST_CASE("Noise_KN vector is reproduced byte for byte") {
  run_vector("KN");
}
TEST_CASE("Noise_KK vector is reproduced byte for byte") {
  run_vector("KK");
}
TEST_CASE("Noise_KX vector is reproduced byte for byte") {
  run_vector("KX");
}
TEST_CASE("Noise_XN vector is reproduced byte for byte") {
  run_vector("XN");
}
TEST_CASE("Noise_XK vector is reproduced byte for byte") {
  run_vector("XK");
}
TEST_CASE("Noise_XX vector is reproduced byte for byte") {
  run_vector("XX");
}
TEST_CASE("Noise_IN vector is reproduced byte for byte") {
  run_vector("IN");
}
TEST_CASE("Noise_IK vector is reproduced byte for byte") {
  run_vector("IK");
}
TEST_CASE("Noise_IX vector is reproduced byte for byte") {
  run_vector("IX");
}
