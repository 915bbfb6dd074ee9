// IndexTable: the random 32-bit session indices of one endpoint (WireGuard
// index_hashtable). Each handshake in flight and each keypair gets its own index, which
// peers put in the cleartext header so a packet finds its keys without trial decryption.
// Indices are random so that they reveal neither how many sessions exist nor which came
// first. Each index names the Session that owns it (a packet goes straight to its session,
// and an entry is 24 bytes, not the 48 a copy of the peer's key took); the session erases
// its indices before it goes. Single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace peermq::session {

class Session;

class IndexTable {
 public:
  // A fresh non-zero index not in use, now owned by `owner`.
  std::uint32_t insert(Session* owner);
  void erase(std::uint32_t index) { table_.erase(index); }
  Session* find(std::uint32_t index) const {
    auto it = table_.find(index);
    return it == table_.end() ? nullptr : it->second;
  }
  std::size_t size() const noexcept { return table_.size(); }

 private:
  std::unordered_map<std::uint32_t, Session*> table_;
};

}  // namespace peermq::session
