// Ring<T>: a FIFO with random access (the channel's queues: packets in flight, messages to
// send, messages ready to read, datagrams), that holds no memory while it is empty.
//
// Why not std::deque: libstdc++ allocates a 64-byte map and a 512-byte block for every
// deque, even an empty one, and a channel had five of them: about 3 KiB per peer, idle or
// not, on a broker that keeps tens of thousands of peers. A Ring allocates on its first
// push (kMinCapacity elements), doubles when full (moving the elements, like std::vector),
// and frees its storage when its last element leaves, so an idle channel holds none. The
// capacity is a power of two, so indexing is an add and a mask. A queue that drains and
// fills again pays one allocation per refill; one that stays busy pays none.
//
// Invalidation: growth (any push into a full ring) invalidates every reference and
// iterator; pop_front() invalidates the popped element's (and all of them when it empties
// the ring). Not thread-safe: it belongs to one channel, on one loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

namespace peermq::channel {

template <class T>
class Ring {
  template <class R, class V>
  class Iter;

 public:
  using value_type = T;
  using iterator = Iter<Ring, T>;
  using const_iterator = Iter<const Ring, const T>;
  static constexpr std::size_t kMinCapacity = 4;

  Ring() noexcept = default;
  Ring(Ring&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        head_(std::exchange(other.head_, 0)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  Ring& operator=(Ring&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      head_ = std::exchange(other.head_, 0);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring() { release(); }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  // Elements the storage holds; 0 while empty.
  std::size_t capacity() const noexcept { return capacity_; }

  T& operator[](std::size_t i) noexcept { return data_[slot(i)]; }
  const T& operator[](std::size_t i) const noexcept { return data_[slot(i)]; }
  T& front() noexcept { return data_[head_]; }
  const T& front() const noexcept { return data_[head_]; }
  T& back() noexcept { return data_[slot(size_ - 1)]; }
  const T& back() const noexcept { return data_[slot(size_ - 1)]; }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if (size_ == capacity_) grow();
    T* at = std::construct_at(data_ + slot(size_), std::forward<Args>(args)...);
    ++size_;
    return *at;
  }
  void push_back(T&& value) { emplace_back(std::move(value)); }

  // Removes the first element; the storage goes with the last one.
  void pop_front() noexcept {
    std::destroy_at(data_ + head_);
    head_ = (head_ + 1) & (capacity_ - 1);
    if (--size_ == 0) release();
  }
  // Removes every element and frees the storage.
  void clear() noexcept { release(); }

  iterator begin() noexcept { return iterator(this, 0); }
  iterator end() noexcept { return iterator(this, static_cast<std::ptrdiff_t>(size_)); }
  const_iterator begin() const noexcept { return const_iterator(this, 0); }
  const_iterator end() const noexcept {
    return const_iterator(this, static_cast<std::ptrdiff_t>(size_));
  }

 private:
  // A random-access iterator: the ring and a logical index, so it survives wrap-around.
  template <class R, class V>
  class Iter {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::remove_const_t<V>;
    using difference_type = std::ptrdiff_t;
    using pointer = V*;
    using reference = V&;

    Iter() noexcept = default;
    Iter(R* ring, difference_type i) noexcept : ring_(ring), i_(i) {}

    reference operator*() const noexcept { return (*ring_)[static_cast<std::size_t>(i_)]; }
    pointer operator->() const noexcept { return &**this; }
    reference operator[](difference_type n) const noexcept { return *(*this + n); }
    Iter& operator++() noexcept { return ++i_, *this; }
    Iter operator++(int) noexcept { return Iter(ring_, i_++); }
    Iter& operator--() noexcept { return --i_, *this; }
    Iter operator--(int) noexcept { return Iter(ring_, i_--); }
    Iter& operator+=(difference_type n) noexcept { return i_ += n, *this; }
    Iter& operator-=(difference_type n) noexcept { return i_ -= n, *this; }
    friend Iter operator+(Iter it, difference_type n) noexcept { return it += n; }
    friend Iter operator+(difference_type n, Iter it) noexcept { return it += n; }
    friend Iter operator-(Iter it, difference_type n) noexcept { return it -= n; }
    friend difference_type operator-(const Iter& a, const Iter& b) noexcept { return a.i_ - b.i_; }
    friend bool operator==(const Iter& a, const Iter& b) noexcept { return a.i_ == b.i_; }
    friend auto operator<=>(const Iter& a, const Iter& b) noexcept { return a.i_ <=> b.i_; }

   private:
    R* ring_ = nullptr;
    difference_type i_ = 0;
  };

  std::size_t slot(std::size_t i) const noexcept { return (head_ + i) & (capacity_ - 1); }

  void grow() {
    const std::uint32_t capacity =
        capacity_ == 0 ? std::uint32_t{kMinCapacity} : std::uint32_t{2} * capacity_;
    if (capacity < capacity_) throw std::length_error("channel::Ring is full");
    T* data = std::allocator<T>{}.allocate(capacity);
    for (std::size_t i = 0; i < size_; ++i) {
      T& old = data_[slot(i)];
      std::construct_at(data + i, std::move(old));
      std::destroy_at(&old);
    }
    if (data_ != nullptr) std::allocator<T>{}.deallocate(data_, capacity_);
    data_ = data;
    head_ = 0;
    capacity_ = capacity;
  }

  void release() noexcept {
    for (std::size_t i = 0; i < size_; ++i) std::destroy_at(data_ + slot(i));
    if (data_ != nullptr) std::allocator<T>{}.deallocate(data_, capacity_);
    data_ = nullptr;
    head_ = size_ = capacity_ = 0;
  }

  // 32-bit counts keep the ring at 24 bytes: a channel's queues are bounded far below 2^32
  // (send buffer and flow window, congestion window).
  T* data_ = nullptr;
  std::uint32_t head_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t capacity_ = 0;
};

}  // namespace peermq::channel
