// Every protocol constant and limit of peermq, in one place (WireGuard messages.h style).
//
// A number that two peers must agree on, or that bounds what a peer will accept from the
// network, lives here and nowhere else; later layers include this header instead of
// writing their own literals. Each value says why it is what it is.
//
//   packets   kUdpPayloadInitial, kUdpPayloadMax, kUdpReceiveMax
//   crypto    kKeySize, kSignatureSize, kHashSize, kAeadTagSize, kAeadNonceSize,
//             kCounterSize, kSessionIndexSize, kMacSize, kCookieSize,
//             kNoiseIkInitiationMin, kNoiseIkResponseMin
//   session   kReplayWindowPackets, kRekeyAfterTime, kRekeyAfterMessages,
//             kRejectAfterTime, kRejectAfterMessages, kKeepaliveInterval,
//             kSessionIdleTimeout, kHandshakeRetryInitial, kHandshakeRetryMax,
//             kHandshakeRetryBackoff, kHandshakeRetryJitter, kMaxHandshakeAttempts,
//             kCookieSecretLifetime, kHandshakesPerSecondPerSource, kRekeyTimeout,
//             kMaxQueuedPerPeer, kHandshakeBurstPerSource, kRateLimiterSources,
//             kMaxPeers, kUnderLoadHandshakesPerSecond, kCookieLatency
//   channel   kMaxMessageSize, kMinFragmentPayload, kMaxFragmentCount,
//             kInitialRtt, kMaxAckDelay, kTimerGranularity, kLossPacketThreshold,
//             kLossTimeThresholdNum/den, kInitialCongestionWindowPackets,
//             kMinCongestionWindowPackets, kPersistentCongestionThreshold,
//             kMaxAckRanges, kInitialFlowWindow, kSessionOverhead,
//             kTransportFrameHeaderSize, kMaxPacketSize, kTransportHintInterval,
//             kMessageCreditOverhead, kDefaultSendBufferLimit, kMaxQueuedDatagrams,
//             kAckElicitingThreshold, kPacingGainNum/den, kPacingBurstPackets,
//             kPtoProbePackets, kMaxProbeTimeout, kMaxDataUpdateDivisor
//   overlay   kRelayKeepaliveInterval, kMaxRelays, kMaxEndpointCandidates,
//             kAddressLookupTimeout, kHolePunchProbeInterval, kHolePunchTimeout,
//             kHolePunchRequestRetry, kDirectPathFailoverTimeout, kRelayForwardPacketsPerSecond,
//             kRelayForwardBurst, kLocalDiscoveryInterval, kNodeRedialInterval,
//             kRelayKeepaliveIntervalMin,
//             kRelayRegistrationLifetime, kRelayRegisterRetryInitial,
//             kRelayRegisterRetryMax, kRelayMissedAnswersDead, kRelayMaxRegistrations,
//             kRelaySignalPerSecond, kRelaySignalBurst, kRelayForwardMaxPacket,
//             kOverlayMessageMax, kMaxPendingLookups, kMaxPathCandidates,
//             kDirectPathKeepaliveInterval, kHolePunchRetryInitial, kHolePunchRetryMax,
//             kPathLookupRetryInitial, kPathLookupRetryMax,
//             kMaxOutstandingProbes, kLocalAnnouncementLifetime,
//             kLocalAnnouncementMaxSkew, kLocalAnnouncementMax
//   overlay runtime  kRelayKeyRequestSize, kRelayKeyAnswerSize,
//             kRelayKeyAnswersPerSecond, kRelayKeyRetryInitial,
//             kTransportMaxRelayedSources, kRelaySilenceRehandshake,
//             kPeerSilenceRehandshake, kPeerSilenceRehandshakeMax
//   mq        kMaxCommandName, kMaxHeaders, kMaxHeaderName, kMaxHeaderValue,
//             kMaxSubscriptions, kMaxPriority, kBrokerMaxDeliveries,
//             kBrokerVisibilityTimeout, kPrefetchDefault,
//             kBrokerQueueMaxMessages, kBrokerQueueMaxBytes, kDedupeWindow,
//             kAnswerTtlDefault, kPublishRetryInterval, kMqProtocolVersion,
//             kMaxClientName, kMaxPayload, kMaxMessageTtl, kMaxReasonText,
//             kMaxPrefetch, kMaxDlqPage, kMaxDlqBatch, kBrokerExpirySweepInterval,
//             kBrokerCompactMinSpan, kBrokerCompactBatch, kDedupeMaxEntries,
//             kProducerInflightDefault, kPublishBackoffInitial
//   storage   kLogSegmentSize, kLogRecordHeaderSize, kSyncBatchIntervalDefault,
//             kLogRecordMaxBody
//   runtime   kSyncAlwaysUngatedDelay, kProducerKeptBuffer, kClientKeepaliveInterval
//   web       kWebMaxDatagram, kWebSendQueueDatagrams, kWebPath, kWebInfoPath
//   msgpack   kMsgpackMaxDepth, kMsgpackMaxDepthCap, kMsgpackMaxEntries,
//             kMsgpackMaxStr, kMsgpackMaxBin, kMsgpackMaxExt
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace peermq::limits {

using std::chrono::milliseconds;
using std::chrono::seconds;

inline constexpr std::size_t KiB = 1024;
inline constexpr std::size_t MiB = 1024 * KiB;

// ---- packets -------------------------------------------------------------------------
// QUIC's minimum: fits the IPv6 minimum MTU (1280) minus headers, so it crosses any path.
inline constexpr std::size_t kUdpPayloadInitial = 1200;
// Ethernet MTU 1500 minus IPv6 (40) and UDP (8): the most path MTU probing may raise to.
inline constexpr std::size_t kUdpPayloadMax = 1452;
// Largest datagram a socket read accepts; anything longer is truncated by the kernel anyway.
inline constexpr std::size_t kUdpReceiveMax = 65535;

// ---- web (WebSocket peers of a relay, platform/web_listener.hpp) ----------------------
// One binary WebSocket message carries one sealed datagram, so it is no larger than the
// largest a node sends over UDP; anything longer is dropped and counted, whole.
inline constexpr std::size_t kWebMaxDatagram = kUdpPayloadMax;
// Datagrams queued for one WebSocket connection; more are refused (send() returns false),
// as a full UDP socket refuses them: a browser that does not read loses datagrams, and the
// node's memory stays bounded.
inline constexpr std::size_t kWebSendQueueDatagrams = 256;
// The WebSocket path, and the page's description of the node (GET, JSON).
inline constexpr const char* kWebPath = "/peermq";
inline constexpr const char* kWebInfoPath = "/peermq.json";

// ---- crypto (Noise IK, 25519_ChaChaPoly_BLAKE2b) --------------------------------------
// X25519 and Ed25519 public and secret scalars are 32 bytes.
inline constexpr std::size_t kKeySize = 32;
// Ed25519 signatures.
inline constexpr std::size_t kSignatureSize = 64;
// BLAKE2b output, Noise HASHLEN.
inline constexpr std::size_t kHashSize = 64;
// ChaCha20-Poly1305 authentication tag.
inline constexpr std::size_t kAeadTagSize = 16;
// IETF ChaCha20-Poly1305 nonce: 4 zero bytes then the 64-bit little-endian counter.
inline constexpr std::size_t kAeadNonceSize = 12;
// Explicit 64-bit packet counters: they never wrap within a session's life.
inline constexpr std::size_t kCounterSize = 8;
// Receiver session index in the cleartext header, so lookup needs no key trial.
inline constexpr std::size_t kSessionIndexSize = 4;
// mac1/mac2 on handshake messages (keyed BLAKE2b-128), as in WireGuard.
inline constexpr std::size_t kMacSize = 16;
// Stateless cookie handed to a source while the responder is under load.
inline constexpr std::size_t kCookieSize = 16;
// IK message 1 Noise body: e, encrypted s (+tag), encrypted empty payload (tag).
inline constexpr std::size_t kNoiseIkInitiationMin = kKeySize + kKeySize + 2 * kAeadTagSize;
// IK message 2 Noise body: e, encrypted empty payload (tag).
inline constexpr std::size_t kNoiseIkResponseMin = kKeySize + kAeadTagSize;

// ---- session ---------------------------------------------------------------------------
// Packets tolerated out of order before being taken for replays; RFC 6479-style bitmap.
inline constexpr std::uint64_t kReplayWindowPackets = 8192;
// Start a new handshake after this long, so a key's exposure stays short (WireGuard).
inline constexpr seconds kRekeyAfterTime{120};
// ...or after this many packets, far below the nonce space and the AEAD's safe limits.
inline constexpr std::uint64_t kRekeyAfterMessages = std::uint64_t{1} << 60;
// Never use a key older than this, even if a rekey has not completed yet.
inline constexpr seconds kRejectAfterTime{180};
// Stop before the counter can wrap, leaving room for the replay window.
inline constexpr std::uint64_t kRejectAfterMessages =
    ~std::uint64_t{0} - kReplayWindowPackets - 1;
// Send an empty encrypted packet after this much silence so the peer knows we are alive.
inline constexpr seconds kKeepaliveInterval{10};
// Three missed keepalives plus slack for a handshake retry: the peer is gone.
inline constexpr seconds kSessionIdleTimeout{35};
// First handshake retransmission; doubled each attempt up to kHandshakeRetryMax.
inline constexpr milliseconds kHandshakeRetryInitial{1000};
inline constexpr milliseconds kHandshakeRetryMax{16000};
inline constexpr unsigned kHandshakeRetryBackoff = 2;
// Random delay up to this much added to each retry, so peers that lost a packet together
// do not retry in lockstep (WireGuard uses up to 1/3 s).
inline constexpr milliseconds kHandshakeRetryJitter{333};
// 1+2+4+8+16+16+16+16 s is about 80 s, near WireGuard's 90 s of trying before giving up.
inline constexpr unsigned kMaxHandshakeAttempts = 8;
// The secret behind DoS cookies rotates so a leaked cookie stops working (WireGuard: 2 min).
inline constexpr seconds kCookieSecretLifetime{120};
// Handshakes a single source address may start per second before it gets only cookies.
inline constexpr unsigned kHandshakesPerSecondPerSource = 20;
// WireGuard REKEY_TIMEOUT: how long a sender waits for any answer before it suspects the
// session is dead and starts a new handshake (also its "new handshake" timer).
inline constexpr seconds kRekeyTimeout{5};
// Messages held per peer while no session is up (WireGuard MAX_STAGED_PACKETS).
inline constexpr std::size_t kMaxQueuedPerPeer = 128;
// Handshakes one source IP may start back to back before its per-second rate applies
// (WireGuard's ratelimiter burst).
inline constexpr unsigned kHandshakeBurstPerSource = 5;
// Source IPs the handshake rate limiter tracks; beyond it new sources are refused until
// idle ones age out, so a spoofed flood cannot grow memory.
inline constexpr std::size_t kRateLimiterSources = 8192;
// Peers with a session (or its remembered timestamp). Sessions without keys, handshake or
// queued data are forgotten to make room; live ones are never evicted. 2^17: a broker holds
// 100,000 idle clients (issue 14) with room to spare, and the table still bounds what
// authenticated peers can make it keep: an idle peer costs the broker under 2 KiB in all
// (session, channel, host and queue entries), so a full table of idle peers is about
// 256 MiB. Each new peer costs the broker a handshake (X25519, under the per-source rate
// limit and cookies), so filling it is not free either.
inline constexpr std::size_t kMaxPeers = 131072;
// Handshake initiations with a valid mac1 per second above which the endpoint considers
// itself under load and demands cookies (mac2) from everyone. On top of it come the rekeys
// its own sessions are due (one per session per kRekeyAfterTime): 100,000 idle clients
// rekey ~833 times a second, which alone kept a broker at a fixed 1,000 in cookie mode,
// every new client a retry (a second) late.
inline constexpr unsigned kUnderLoadHandshakesPerSecond = 1000;
// A cookie is used only while it is this much younger than the secret's lifetime, so it is
// not refused for having expired in flight (WireGuard COOKIE_SECRET_LATENCY).
inline constexpr seconds kCookieLatency{5};

// ---- channel -----------------------------------------------------------------------------
// Largest message a channel carries; peers may configure less, never more.
inline constexpr std::size_t kMaxMessageSize = 16 * MiB;
// The smallest fragment payload a sender may use once headers and tag are taken off.
inline constexpr std::size_t kMinFragmentPayload = 1024;
// Fragments of one message: the largest message in the smallest fragments.
inline constexpr std::uint32_t kMaxFragmentCount =
    static_cast<std::uint32_t>(kMaxMessageSize / kMinFragmentPayload);
// RFC 9002 kInitialRtt: the RTT assumed before the first sample.
inline constexpr milliseconds kInitialRtt{333};
// Longest a receiver holds an ACK back to coalesce it. QUIC's default is 25 ms, sized for
// Internet RTTs; here it also sits in every probe timeout (RFC 9002 §6.2.1), and on the
// sub-millisecond paths between sites it made each tail loss cost 25x the RTT (a 20%-lossy
// link moved 10,000 small round trips 6x slower than with 5 ms). Only a lone packet waits
// for it: the second packet, any gap, and every answer carry the ACK at once.
inline constexpr milliseconds kMaxAckDelay{5};
// RFC 9002 kGranularity: timers finer than this only burn CPU.
inline constexpr milliseconds kTimerGranularity{1};
// RFC 9002 kPacketThreshold: a packet is lost once this many later ones are acknowledged.
inline constexpr unsigned kLossPacketThreshold = 3;
// RFC 9002 kTimeThreshold 9/8: lost when older than 9/8 RTT behind an acknowledged packet.
inline constexpr unsigned kLossTimeThresholdNum = 9;
inline constexpr unsigned kLossTimeThresholdDen = 8;
// RFC 9002 initial window: 10 full packets.
inline constexpr unsigned kInitialCongestionWindowPackets = 10;
// RFC 9002 minimum window: 2 packets, so the ACK clock never stops.
inline constexpr unsigned kMinCongestionWindowPackets = 2;
// RFC 9002 kPersistentCongestionThreshold, in probe timeouts.
inline constexpr unsigned kPersistentCongestionThreshold = 3;
// ACK ranges per ACK frame: bounds the frame size and the receiver's bookkeeping.
inline constexpr unsigned kMaxAckRanges = 32;
// Bytes a sender may have unread at the receiver before waiting for window updates.
inline constexpr std::size_t kInitialFlowWindow = 1 * MiB;
// The session's data packet: 16-byte cleartext header (type 4, receiver index 4, counter 8)
// plus the 16-byte AEAD tag. The channel sees only what is left of the UDP payload.
inline constexpr std::size_t kSessionOverhead =
    4 + kSessionIndexSize + kCounterSize + kAeadTagSize;
// Every session payload starts with a transport frame header: kind 1, the sender's and
// the receiver's incarnation 8 each (see wire/transport_frame.hpp).
inline constexpr std::size_t kTransportFrameHeaderSize = 1 + 8 + 8;
inline constexpr std::size_t kMaxPacketSize =
    kUdpPayloadInitial - kSessionOverhead - kTransportFrameHeaderSize;
static_assert(kMaxPacketSize == 1151);
// A node answers packets meant for its previous run with a header-only frame at most this
// often per peer, so the peer learns of the restart without an echo of its flood.
inline constexpr milliseconds kTransportHintInterval{20};
// Flow-control credit charged per message on top of its bytes, so a peer cannot make the
// receiver track an unbounded number of zero-length messages.
inline constexpr std::uint64_t kMessageCreditOverhead = 32;
// Bytes of messages a sender holds (queued or unacknowledged) before send() blocks. One
// message larger than this is still accepted when the buffer is empty.
inline constexpr std::size_t kDefaultSendBufferLimit = 4 * MiB;
// Datagrams queued for sending; more are refused, since a late probe is worthless anyway.
inline constexpr std::size_t kMaxQueuedDatagrams = 64;
// ACK at once after this many ack-eliciting packets (RFC 9000 §13.2.2: every second).
inline constexpr unsigned kAckElicitingThreshold = 2;
// RFC 9002 §7.7: pace at 5/4 of cwnd per RTT so that pacing never limits the window.
inline constexpr unsigned kPacingGainNum = 5;
inline constexpr unsigned kPacingGainDen = 4;
// Packets the pacer lets out back to back after an idle period (RFC 9002 allows up to the
// initial window).
inline constexpr unsigned kPacingBurstPackets = 10;
// Probe packets sent when a PTO fires (RFC 9002 §6.2.4 allows up to two).
inline constexpr unsigned kPtoProbePackets = 2;
// PTO backoff stops doubling at this interval (or at the PTO itself, if longer). With a
// probe failing half of the time or more (over 30% loss each way), unbounded doubling
// gives stalls of unbounded expected length (0.6^k chance of waiting 2^k PTOs); capped,
// a dark path costs two probe packets a second, as sparse as the path keepalives.
inline constexpr seconds kMaxProbeTimeout{1};
// The receiver sends a MAX_DATA once its reader has freed this fraction of the window.
inline constexpr unsigned kMaxDataUpdateDivisor = 4;
// A side that only acknowledges sends one PING once its ACK frames carry this many ranges,
// so its ACKs get acknowledged and the ranges below them can be forgotten (RFC 9000 13.2.4).
inline constexpr std::size_t kAckRangesBeforePing = 4;
// Packet buffers a send buffer keeps for reuse, and the share of its limit they may hold:
// enough to avoid an allocation per message without pinning memory after a burst.
inline constexpr std::size_t kSendBufferMaxSpares = 64;
inline constexpr std::size_t kSendBufferSpareDivisor = 4;

// ---- overlay -----------------------------------------------------------------------------
// Below the 30 s after which many NATs forget an idle UDP mapping.
inline constexpr seconds kRelayKeepaliveInterval{15};
// Relays a node registers with at once; more only multiplies keepalive traffic.
inline constexpr std::size_t kMaxRelays = 8;
// Endpoints (public, local) a relay returns for one address.
inline constexpr std::size_t kMaxEndpointCandidates = 8;
// Wait this long for a relay's "where is ADDR" answer before asking the next relay.
inline constexpr seconds kAddressLookupTimeout{5};
// Gap between simultaneous hole punching probes.
inline constexpr milliseconds kHolePunchProbeInterval{200};
// A punch request (and the notify the relay sends the peer) is one unreliable datagram
// each way: the requester asks again this often within a round until the peer's probes
// show it is punching too (one lost notify left a pair relayed until the next round, 30 s;
// four tries a round still left 3 pairs in 1,000 relayed at 10% loss per site).
inline constexpr milliseconds kHolePunchRequestRetry{1000};
// Give up punching and stay on the relay after this long.
inline constexpr seconds kHolePunchTimeout{10};
// A direct path silent this long (while the relay path works) falls back to the relay.
inline constexpr seconds kDirectPathFailoverTimeout{3};
// Per-peer token bucket on a relay, so one peer cannot use a relay as a flood amplifier.
inline constexpr unsigned kRelayForwardPacketsPerSecond = 2000;
inline constexpr unsigned kRelayForwardBurst = 200;
// How often a node announces itself to others on the same host or link.
inline constexpr seconds kLocalDiscoveryInterval{5};
// A dialed peer whose session is down is looked up again this often (it may have
// restarted on another endpoint).
inline constexpr seconds kNodeRedialInterval{1};
// A relay may ask for keepalives more often than kRelayKeepaliveInterval, never less, and
// never more often than this (a misconfigured relay must not make its nodes chatter).
inline constexpr seconds kRelayKeepaliveIntervalMin{5};
// A relay forgets a node after three missed keepalives.
inline constexpr seconds kRelayRegistrationLifetime{3 * kRelayKeepaliveInterval};
// An unanswered registration is resent after this long, doubling up to the maximum, so a
// lost packet costs a quarter second while a relay that is down costs one packet per
// interval.
inline constexpr milliseconds kRelayRegisterRetryInitial{250};
inline constexpr seconds kRelayRegisterRetryMax{kRelayKeepaliveInterval};
// Registrations in a row that a relay leaves unanswered before it counts as dead: 0.25 +
// 0.5 + 1 + 2 + 4 s. Five tries, not three in 7 s: with 20% loss each way (36% of round
// trips lost) three misses in a row came once in 21 keepalives and dropped every route
// through a working relay; five come once in 170.
inline constexpr unsigned kRelayMissedAnswersDead = 5;
// Nodes one relay keeps registered; more are refused until some expire (bounded memory).
inline constexpr std::size_t kRelayMaxRegistrations = 65536;
// Per-peer token bucket for lookups and punch requests: each costs the relay an answer or
// two notifications, so a peer must not make it send them at forwarding rates.
inline constexpr unsigned kRelaySignalPerSecond = 10;
inline constexpr unsigned kRelaySignalBurst = 20;
// Largest end-to-end datagram a relay forwards: the path MTU floor, since a relayed
// datagram is wrapped once more (sessions stay at kUdpPayloadInitial over relays; the
// wrapped datagram to the relay is up to ~1.3 KB, over the IPv6 minimum MTU).
inline constexpr std::size_t kRelayForwardMaxPacket = kUdpPayloadInitial;
// Largest overlay control message: a forwarded datagram plus its header (key, type).
inline constexpr std::size_t kOverlayMessageMax = kRelayForwardMaxPacket + 64;
// Lookups a node keeps in flight; more are refused (each holds a timer).
inline constexpr std::size_t kMaxPendingLookups = 1024;
// Endpoints a path probes: the relay's candidates plus those learned from the peer's own
// probes and packets (peer-reflexive, as in ICE).
inline constexpr std::size_t kMaxPathCandidates = 2 * kMaxEndpointCandidates;
// A direct path silent this long is probed, once per interval, so that an idle path is
// known alive and a dead one is noticed within kDirectPathFailoverTimeout.
inline constexpr seconds kDirectPathKeepaliveInterval{1};
// After a punch round fails (or a direct path dies) the next round waits this long,
// doubling up to the maximum: a peer behind a symmetric NAT costs little.
inline constexpr seconds kHolePunchRetryInitial{30};
inline constexpr seconds kHolePunchRetryMax{480};
// A path left with no route after a failed lookup asks again after this long, doubling up
// to the maximum (the peer may be re-registering after its relay restarted).
inline constexpr seconds kPathLookupRetryInitial{2};
inline constexpr seconds kPathLookupRetryMax{30};
// Probes remembered for matching their acks (10 s of probing 16 candidates at 5/s is 800).
inline constexpr std::size_t kMaxOutstandingProbes = 1024;
// A local announcement older than three announce intervals belongs to a dead node.
inline constexpr seconds kLocalAnnouncementLifetime{3 * kLocalDiscoveryInterval};
// Announcements dated this far in the future are refused (one host, one clock: small).
inline constexpr seconds kLocalAnnouncementMaxSkew{2};
// Largest local announcement file: key, candidates, time, signature and framing.
inline constexpr std::size_t kLocalAnnouncementMax = 512;

// ---- overlay runtime (relay key exchange, relayed sessions, ping) --------------------------
// "What is your key?" for a relay given as HOST:PORT: 4-byte type, 8-byte nonce, zero
// padding, so the answer (type, nonce, 32-byte key) is never larger than the question.
inline constexpr std::size_t kRelayKeyRequestSize = 64;
inline constexpr std::size_t kRelayKeyAnswerSize = 4 + 8 + kKeySize;
// A relay answers at most this many key requests per second (burst as many): they cost
// nothing but a copy, and the cap keeps a spoofed flood from becoming a reflected one.
inline constexpr unsigned kRelayKeyAnswersPerSecond = 200;
// An unanswered key request is sent again after this long, doubling up to the register
// retry maximum (a relay that is down costs one small packet per interval).
inline constexpr milliseconds kRelayKeyRetryInitial{500};
// (relay, peer) pairs a transport tells apart as the sources of relayed datagrams (the
// session layer sees each pair as one synthetic source); beyond it new pairs are dropped.
inline constexpr std::size_t kTransportMaxRelayedSources = 65536;
// A relay that has not answered anything since a message we sent it this long ago (three
// register retries) is suspected to have restarted and lost our session keys, which
// it cannot tell us: the node handshakes with it again (cheap if it had not).
inline constexpr milliseconds kRelaySilenceRehandshake{1000};

// A peer with data of ours unacknowledged and nothing authenticated from it for this long
// may have restarted and lost our session keys (a broker killed and started again: its new
// run drops our packets and cannot say why), so the host handshakes with it again, then
// again after twice the wait, up to the maximum, until it hears from it. A live peer only
// pays a handshake. (WireGuard waits keepalive + rekey timeout, 15 s: a queue cannot.)
inline constexpr milliseconds kPeerSilenceRehandshake{1000};
inline constexpr milliseconds kPeerSilenceRehandshakeMax{8000};

// ---- mq ----------------------------------------------------------------------------------
// Command names are identifiers ("users.get"), not data.
inline constexpr std::size_t kMaxCommandName = 64;
// Headers are metadata; data belongs in the payload.
inline constexpr std::size_t kMaxHeaders = 32;
inline constexpr std::size_t kMaxHeaderName = 64;
inline constexpr std::size_t kMaxHeaderValue = 1 * KiB;
// Commands one consumer may subscribe to.
inline constexpr std::size_t kMaxSubscriptions = 256;
// Priorities 0..kMaxPriority; RabbitMQ advises at most 10 levels.
inline constexpr std::uint8_t kMaxPriority = 9;
// Deliveries before a message moves to the dead-letter queue (poison message guard).
inline constexpr std::uint32_t kBrokerMaxDeliveries = 5;
// A delivered message not answered within this time goes to another consumer.
inline constexpr seconds kBrokerVisibilityTimeout{30};
// The most unanswered deliveries a consumer asks to hold by default. It is a cap: the
// broker's CreditTuner (src/mq/credit_tuner.hpp) finds the window the consumer can use
// below it, from 16 up; memory is bounded besides by the channel's flow window (bytes), and
// the broker keeps 16 bytes per delivery in flight (64 KiB per consumer at this cap).
inline constexpr std::uint32_t kPrefetchDefault = 4096;
// Queue bounds before producers are told to slow down.
inline constexpr std::uint64_t kBrokerQueueMaxMessages = 1'000'000;
inline constexpr std::uint64_t kBrokerQueueMaxBytes = std::uint64_t{1} << 30;
// Message ids remembered for duplicate detection (NATS JetStream's default window).
inline constexpr seconds kDedupeWindow{120};
// Answers kept for an offline producer this long.
inline constexpr seconds kAnswerTtlDefault{3600};
// A producer resends an unconfirmed publish after this long.
inline constexpr seconds kPublishRetryInterval{1};
// Version of the queue protocol spoken in hello/hello_ok; a peer older than this is refused.
inline constexpr std::uint32_t kMqProtocolVersion = 1;
// Client names (in hello) label logs and stats; they are not data.
inline constexpr std::size_t kMaxClientName = 64;
// Largest payload plus headers of one queue message: leaves 64 KiB of every channel message
// for the deliver envelope (tag, ids, producer key, command, headers), so whatever a broker
// accepted it can always deliver, and a journal record of it fits kLogRecordMaxBody.
inline constexpr std::size_t kMaxPayload = kMaxMessageSize - 64 * KiB;
// Longest TTL a publish may ask for; a longer one is a client bug, not a wish.
inline constexpr std::chrono::hours kMaxMessageTtl{24 * 30};
// Reject reasons, refusal and nack texts: one human sentence.
inline constexpr std::size_t kMaxReasonText = 256;
// A consumer may hold at most this many unanswered deliveries, whatever it asks for.
inline constexpr std::uint32_t kMaxPrefetch = 65536;
// Dead-letter entries one dlq_list answer carries; an admin pages through the rest.
inline constexpr std::uint32_t kMaxDlqPage = 256;
// Dead-letter ids one dlq_requeue/dlq_purge request may name.
inline constexpr std::uint32_t kMaxDlqBatch = 1024;
// Expired messages and answers are swept at most this often (dispatch never delivers an
// expired message in between), so a large backlog is not rescanned on every timer.
inline constexpr seconds kBrokerExpirySweepInterval{1};
// The broker rewrites its oldest live records to the log's head once the span of records
// it keeps is over twice what is live and at least this many slots, so a single stuck
// message (DLQ, rare command) cannot pin old segments on disk forever.
inline constexpr std::uint64_t kBrokerCompactMinSpan = 65536;
// Records rewritten per compaction step: bounds the work done in one loop iteration.
inline constexpr std::uint32_t kBrokerCompactBatch = 256;
// Dedupe entries per generation — runs of consecutive publish ids (one per producer while
// its ids stay consecutive) and ids out of order, ~16..50 bytes each: beyond it the window
// is shortened (counted) instead of memory growing without bound.
inline constexpr std::size_t kDedupeMaxEntries = std::size_t{4} << 20;
// Messages a producer keeps unanswered (or unconfirmed, when no answer is wanted).
inline constexpr std::uint32_t kProducerInflightDefault = 1024;
// First pause after a queue_full nack; doubled up to kPublishRetryInterval.
inline constexpr milliseconds kPublishBackoffInitial{50};

// ---- storage -------------------------------------------------------------------------------
// Segments are deleted whole once acknowledged, so this bounds disk left over.
inline constexpr std::size_t kLogSegmentSize = 64 * MiB;
// Each record: 32-bit length then CRC32C, both little-endian.
inline constexpr std::size_t kLogRecordHeaderSize = 8;
// `batch` sync policy: fsync at least this often.
inline constexpr milliseconds kSyncBatchIntervalDefault{10};
// Largest record body: one message of kMaxMessageSize plus its command, headers and the
// broker's bookkeeping. A longer length field is a corrupt header, never an allocation.
inline constexpr std::size_t kLogRecordMaxBody = kMaxMessageSize + 1 * MiB;

// ---- runtime: broker group commit -----------------------------------------------------------
// -sync=always: records no confirmation waits for (answers, acknowledgements) wait this
// long at most for an fdatasync; a waiting publish starts one at once and they ride along.
// An fdatasync of them alone would make the publishes that follow wait for two.
inline constexpr milliseconds kSyncAlwaysUngatedDelay{2};
// A producer keeps an encoded publish's buffer up to this size for the next message once
// the broker has it (small messages then cost no allocation); larger ones are freed.
inline constexpr std::size_t kProducerKeptBuffer = 1 * KiB;

// A producer or consumer PINGs its broker after this long with nothing sent (the broker's
// ACK answers), so a quiet client keeps its session: without it both ends closed the
// session after kSessionIdleTimeout, the broker took a consumer busy with a long job for
// gone and handed its message out again, and the answer was refused. Like NATS's PING and
// RabbitMQ's heartbeat; a client that stops pinging is gone after kSessionIdleTimeout.
inline constexpr seconds kClientKeepaliveInterval{15};
// A producer with messages awaiting their answers that has heard nothing from its broker
// for this long PINGs it: a broker that restarted meanwhile (and lost the producer's
// session) is then noticed within about a second more (kPeerSilenceRehandshake), not at
// the next keepalive. A broker that is only busy answers the PING's ACK.
inline constexpr seconds kProducerWaitingProbeInterval{2};
static_assert(2 * kClientKeepaliveInterval < kSessionIdleTimeout,
              "a lost PING and its probe still land within the idle timeout");

// ---- msgpack decoding ------------------------------------------------------------------------
// Our messages nest at most a few levels; deep nesting only serves stack and CPU attacks.
inline constexpr std::uint32_t kMsgpackMaxDepth = 8;
// Hard ceiling for a configured depth: the decoder keeps one fixed slot per level.
inline constexpr std::uint32_t kMsgpackMaxDepthCap = 32;
// Entries of one array or map; a decoder may reserve this much before reading them.
inline constexpr std::uint32_t kMsgpackMaxEntries = 65536;
// Strings carry names, headers and error texts, never bulk data.
inline constexpr std::uint32_t kMsgpackMaxStr = 64 * KiB;
// Binary carries payloads: up to a whole message.
inline constexpr std::uint32_t kMsgpackMaxBin = kMaxMessageSize;
// peermq defines no ext types; small ones are tolerated for forward compatibility.
inline constexpr std::uint32_t kMsgpackMaxExt = 256;

// Relations the numbers above must keep.
static_assert(kUdpPayloadInitial <= kUdpPayloadMax);
static_assert(kMinFragmentPayload < kUdpPayloadInitial);
static_assert(std::uint64_t{kMaxFragmentCount} * kMinFragmentPayload >= kMaxMessageSize);
static_assert(kRekeyAfterTime < kRejectAfterTime);
static_assert(kRekeyAfterMessages < kRejectAfterMessages);
static_assert(kKeepaliveInterval < kSessionIdleTimeout);
static_assert(kHandshakeRetryInitial <= kHandshakeRetryMax);
static_assert(kRelayKeepaliveInterval < seconds{30});
static_assert(kRelayKeepaliveIntervalMin <= kRelayKeepaliveInterval);
static_assert(kDirectPathKeepaliveInterval < kDirectPathFailoverTimeout);
// A channel with data outstanding probes at least this often, so under loss its own probes
// and their ACKs keep a direct path from looking silent.
static_assert(kMaxProbeTimeout < kDirectPathFailoverTimeout);
static_assert(kHolePunchProbeInterval < kHolePunchTimeout);
// A forwarded datagram wrapped in its relay session (transport frame header + overlay
// message + session header and tag) must still fit the largest UDP payload.
static_assert(kTransportFrameHeaderSize + kOverlayMessageMax + kSessionOverhead <=
              kUdpPayloadMax);
static_assert(kRelayKeyAnswerSize <= kRelayKeyRequestSize);
static_assert(kMsgpackMaxDepth <= kMsgpackMaxDepthCap);
static_assert(kBrokerMaxDeliveries <= 255);  // the broker keeps the count in one byte
static_assert(kMaxPayload + 64 * KiB <= kLogRecordMaxBody);
static_assert(kPublishBackoffInitial < kPublishRetryInterval);
static_assert(kMsgpackMaxBin <= kMaxMessageSize);
static_assert(kLogRecordMaxBody <= 0xFFFF'FFFFu - kLogRecordHeaderSize);
static_assert(kMaxHeaders <= kMsgpackMaxEntries && kMaxHeaderValue <= kMsgpackMaxStr);

}  // namespace peermq::limits
