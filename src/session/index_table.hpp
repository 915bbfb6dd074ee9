// IndexTable: the random 32-bit session indices of one endpoint (WireGuard
// index_hashtable). Each handshake in flight and each keypair gets its own index, which
// peers put in the cleartext header so a packet finds its keys without trial decryption.
// Indices are random so that they reveal neither how many sessions exist nor which came
// first. Single-threaded.
#pragma once

#include <cstdint>
#include <unordered_map>

#include <peermq/address.hpp>

namespace peermq::session {

class IndexTable {
 public:
  // A fresh non-zero index not in use, now owned by `peer`.
  std::uint32_t insert(const PublicKey& peer);
  void erase(std::uint32_t index) { table_.erase(index); }
  const PublicKey* find(std::uint32_t index) const {
    auto it = table_.find(index);
    return it == table_.end() ? nullptr : &it->second;
  }
  std::size_t size() const noexcept { return table_.size(); }

 private:
  std::unordered_map<std::uint32_t, PublicKey> table_;
};

}  // namespace peermq::session
