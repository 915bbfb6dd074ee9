// Every protocol constant and limit of peermq, in one place (WireGuard messages.h style).
//
// A number that two peers must agree on, or that bounds what a peer will accept from the
// network, lives here and nowhere else; later layers include this header instead of
// writing their own literals. Each value says why it is what it is.
//
//   packets   udp_payload_initial, udp_payload_max, udp_receive_max
//   crypto    key_size, signature_size, hash_size, aead_tag_size, aead_nonce_size,
//             counter_size, session_index_size, mac_size, cookie_size,
//             noise_ik_initiation_min, noise_ik_response_min
//   session   replay_window_packets, rekey_after_time, rekey_after_messages,
//             reject_after_time, reject_after_messages, keepalive_interval,
//             session_idle_timeout, handshake_retry_initial, handshake_retry_max,
//             handshake_retry_backoff, handshake_retry_jitter, max_handshake_attempts,
//             cookie_secret_lifetime, handshakes_per_second_per_source, rekey_timeout,
//             max_queued_per_peer, handshake_burst_per_source, rate_limiter_sources,
//             max_peers, under_load_handshakes_per_second, cookie_latency
//   channel   max_message_size, min_fragment_payload, max_fragment_count,
//             initial_rtt, max_ack_delay, timer_granularity, loss_packet_threshold,
//             loss_time_threshold_num/den, initial_congestion_window_packets,
//             min_congestion_window_packets, persistent_congestion_threshold,
//             max_ack_ranges, initial_flow_window, session_overhead,
//             transport_frame_header_size, max_packet_size, transport_hint_interval,
//             message_credit_overhead, default_send_buffer_limit, max_queued_datagrams,
//             ack_eliciting_threshold, pacing_gain_num/den, pacing_burst_packets,
//             pto_probe_packets, max_probe_timeout, max_data_update_divisor
//   overlay   relay_keepalive_interval, max_relays, max_endpoint_candidates,
//             address_lookup_timeout, hole_punch_probe_interval, hole_punch_timeout,
//             hole_punch_request_retry, direct_path_failover_timeout, relay_forward_packets_per_second,
//             relay_forward_burst, local_discovery_interval, node_redial_interval,
//             relay_keepalive_interval_min,
//             relay_registration_lifetime, relay_register_retry_initial,
//             relay_register_retry_max, relay_missed_answers_dead, relay_max_registrations,
//             relay_signal_per_second, relay_signal_burst, relay_forward_max_packet,
//             overlay_message_max, max_pending_lookups, max_path_candidates,
//             direct_path_keepalive_interval, hole_punch_retry_initial, hole_punch_retry_max,
//             path_lookup_retry_initial, path_lookup_retry_max,
//             max_outstanding_probes, local_announcement_lifetime,
//             local_announcement_max_skew, local_announcement_max
//   overlay runtime  relay_key_request_size, relay_key_answer_size,
//             relay_key_answers_per_second, relay_key_retry_initial,
//             transport_max_relayed_sources, relay_silence_rehandshake,
//             peer_silence_rehandshake, peer_silence_rehandshake_max
//   mq        max_command_name, max_headers, max_header_name, max_header_value,
//             max_subscriptions, max_priority, broker_max_deliveries,
//             broker_visibility_timeout, broker_prefetch_default,
//             broker_queue_max_messages, broker_queue_max_bytes, dedupe_window,
//             answer_ttl_default, publish_retry_interval, mq_protocol_version,
//             max_client_name, max_payload, max_message_ttl, max_reason_text,
//             max_prefetch, max_dlq_page, max_dlq_batch, broker_expiry_sweep_interval,
//             broker_compact_min_span, broker_compact_batch, dedupe_max_entries,
//             producer_inflight_default, publish_backoff_initial
//   storage   log_segment_size, log_record_header_size, sync_batch_interval_default,
//             log_record_max_body
//   runtime   sync_always_ungated_delay, producer_kept_buffer, client_keepalive_interval
//   msgpack   msgpack_max_depth, msgpack_max_depth_cap, msgpack_max_entries,
//             msgpack_max_str, msgpack_max_bin, msgpack_max_ext
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
inline constexpr std::size_t udp_payload_initial = 1200;
// Ethernet MTU 1500 minus IPv6 (40) and UDP (8): the most path MTU probing may raise to.
inline constexpr std::size_t udp_payload_max = 1452;
// Largest datagram a socket read accepts; anything longer is truncated by the kernel anyway.
inline constexpr std::size_t udp_receive_max = 65535;

// ---- crypto (Noise IK, 25519_ChaChaPoly_BLAKE2b) --------------------------------------
// X25519 and Ed25519 public and secret scalars are 32 bytes.
inline constexpr std::size_t key_size = 32;
// Ed25519 signatures.
inline constexpr std::size_t signature_size = 64;
// BLAKE2b output, Noise HASHLEN.
inline constexpr std::size_t hash_size = 64;
// ChaCha20-Poly1305 authentication tag.
inline constexpr std::size_t aead_tag_size = 16;
// IETF ChaCha20-Poly1305 nonce: 4 zero bytes then the 64-bit little-endian counter.
inline constexpr std::size_t aead_nonce_size = 12;
// Explicit 64-bit packet counters: they never wrap within a session's life.
inline constexpr std::size_t counter_size = 8;
// Receiver session index in the cleartext header, so lookup needs no key trial.
inline constexpr std::size_t session_index_size = 4;
// mac1/mac2 on handshake messages (keyed BLAKE2b-128), as in WireGuard.
inline constexpr std::size_t mac_size = 16;
// Stateless cookie handed to a source while the responder is under load.
inline constexpr std::size_t cookie_size = 16;
// IK message 1 Noise body: e, encrypted s (+tag), encrypted empty payload (tag).
inline constexpr std::size_t noise_ik_initiation_min = key_size + key_size + 2 * aead_tag_size;
// IK message 2 Noise body: e, encrypted empty payload (tag).
inline constexpr std::size_t noise_ik_response_min = key_size + aead_tag_size;

// ---- session ---------------------------------------------------------------------------
// Packets tolerated out of order before being taken for replays; RFC 6479-style bitmap.
inline constexpr std::uint64_t replay_window_packets = 8192;
// Start a new handshake after this long, so a key's exposure stays short (WireGuard).
inline constexpr seconds rekey_after_time{120};
// ...or after this many packets, far below the nonce space and the AEAD's safe limits.
inline constexpr std::uint64_t rekey_after_messages = std::uint64_t{1} << 60;
// Never use a key older than this, even if a rekey has not completed yet.
inline constexpr seconds reject_after_time{180};
// Stop before the counter can wrap, leaving room for the replay window.
inline constexpr std::uint64_t reject_after_messages =
    ~std::uint64_t{0} - replay_window_packets - 1;
// Send an empty encrypted packet after this much silence so the peer knows we are alive.
inline constexpr seconds keepalive_interval{10};
// Three missed keepalives plus slack for a handshake retry: the peer is gone.
inline constexpr seconds session_idle_timeout{35};
// First handshake retransmission; doubled each attempt up to handshake_retry_max.
inline constexpr milliseconds handshake_retry_initial{1000};
inline constexpr milliseconds handshake_retry_max{16000};
inline constexpr unsigned handshake_retry_backoff = 2;
// Random delay up to this much added to each retry, so peers that lost a packet together
// do not retry in lockstep (WireGuard uses up to 1/3 s).
inline constexpr milliseconds handshake_retry_jitter{333};
// 1+2+4+8+16+16+16+16 s is about 80 s, near WireGuard's 90 s of trying before giving up.
inline constexpr unsigned max_handshake_attempts = 8;
// The secret behind DoS cookies rotates so a leaked cookie stops working (WireGuard: 2 min).
inline constexpr seconds cookie_secret_lifetime{120};
// Handshakes a single source address may start per second before it gets only cookies.
inline constexpr unsigned handshakes_per_second_per_source = 20;
// WireGuard REKEY_TIMEOUT: how long a sender waits for any answer before it suspects the
// session is dead and starts a new handshake (also its "new handshake" timer).
inline constexpr seconds rekey_timeout{5};
// Messages held per peer while no session is up (WireGuard MAX_STAGED_PACKETS).
inline constexpr std::size_t max_queued_per_peer = 128;
// Handshakes one source IP may start back to back before its per-second rate applies
// (WireGuard's ratelimiter burst).
inline constexpr unsigned handshake_burst_per_source = 5;
// Source IPs the handshake rate limiter tracks; beyond it new sources are refused until
// idle ones age out, so a spoofed flood cannot grow memory.
inline constexpr std::size_t rate_limiter_sources = 8192;
// Peers with a session (or its remembered timestamp). Sessions without keys, handshake or
// queued data are forgotten to make room; live ones are never evicted.
inline constexpr std::size_t max_peers = 65536;
// Handshake initiations with a valid mac1 per second above which the endpoint considers
// itself under load and demands cookies (mac2) from everyone.
inline constexpr unsigned under_load_handshakes_per_second = 1000;
// A cookie is used only while it is this much younger than the secret's lifetime, so it is
// not refused for having expired in flight (WireGuard COOKIE_SECRET_LATENCY).
inline constexpr seconds cookie_latency{5};

// ---- channel -----------------------------------------------------------------------------
// Largest message a channel carries; peers may configure less, never more.
inline constexpr std::size_t max_message_size = 16 * MiB;
// The smallest fragment payload a sender may use once headers and tag are taken off.
inline constexpr std::size_t min_fragment_payload = 1024;
// Fragments of one message: the largest message in the smallest fragments.
inline constexpr std::uint32_t max_fragment_count =
    static_cast<std::uint32_t>(max_message_size / min_fragment_payload);
// RFC 9002 kInitialRtt: the RTT assumed before the first sample.
inline constexpr milliseconds initial_rtt{333};
// Longest a receiver holds an ACK back to coalesce it. QUIC's default is 25 ms, sized for
// Internet RTTs; here it also sits in every probe timeout (RFC 9002 §6.2.1), and on the
// sub-millisecond paths between sites it made each tail loss cost 25x the RTT (a 20%-lossy
// link moved 10,000 small round trips 6x slower than with 5 ms). Only a lone packet waits
// for it: the second packet, any gap, and every answer carry the ACK at once.
inline constexpr milliseconds max_ack_delay{5};
// RFC 9002 kGranularity: timers finer than this only burn CPU.
inline constexpr milliseconds timer_granularity{1};
// RFC 9002 kPacketThreshold: a packet is lost once this many later ones are acknowledged.
inline constexpr unsigned loss_packet_threshold = 3;
// RFC 9002 kTimeThreshold 9/8: lost when older than 9/8 RTT behind an acknowledged packet.
inline constexpr unsigned loss_time_threshold_num = 9;
inline constexpr unsigned loss_time_threshold_den = 8;
// RFC 9002 initial window: 10 full packets.
inline constexpr unsigned initial_congestion_window_packets = 10;
// RFC 9002 minimum window: 2 packets, so the ACK clock never stops.
inline constexpr unsigned min_congestion_window_packets = 2;
// RFC 9002 kPersistentCongestionThreshold, in probe timeouts.
inline constexpr unsigned persistent_congestion_threshold = 3;
// ACK ranges per ACK frame: bounds the frame size and the receiver's bookkeeping.
inline constexpr unsigned max_ack_ranges = 32;
// Bytes a sender may have unread at the receiver before waiting for window updates.
inline constexpr std::size_t initial_flow_window = 1 * MiB;
// The session's data packet: 16-byte cleartext header (type 4, receiver index 4, counter 8)
// plus the 16-byte AEAD tag. The channel sees only what is left of the UDP payload.
inline constexpr std::size_t session_overhead =
    4 + session_index_size + counter_size + aead_tag_size;
// Every session payload starts with a transport frame header: kind 1, the sender's and
// the receiver's incarnation 8 each (see wire/transport_frame.hpp).
inline constexpr std::size_t transport_frame_header_size = 1 + 8 + 8;
inline constexpr std::size_t max_packet_size =
    udp_payload_initial - session_overhead - transport_frame_header_size;
static_assert(max_packet_size == 1151);
// A node answers packets meant for its previous run with a header-only frame at most this
// often per peer, so the peer learns of the restart without an echo of its flood.
inline constexpr milliseconds transport_hint_interval{20};
// Flow-control credit charged per message on top of its bytes, so a peer cannot make the
// receiver track an unbounded number of zero-length messages.
inline constexpr std::uint64_t message_credit_overhead = 32;
// Bytes of messages a sender holds (queued or unacknowledged) before send() blocks. One
// message larger than this is still accepted when the buffer is empty.
inline constexpr std::size_t default_send_buffer_limit = 4 * MiB;
// Datagrams queued for sending; more are refused, since a late probe is worthless anyway.
inline constexpr std::size_t max_queued_datagrams = 64;
// ACK at once after this many ack-eliciting packets (RFC 9000 §13.2.2: every second).
inline constexpr unsigned ack_eliciting_threshold = 2;
// RFC 9002 §7.7: pace at 5/4 of cwnd per RTT so that pacing never limits the window.
inline constexpr unsigned pacing_gain_num = 5;
inline constexpr unsigned pacing_gain_den = 4;
// Packets the pacer lets out back to back after an idle period (RFC 9002 allows up to the
// initial window).
inline constexpr unsigned pacing_burst_packets = 10;
// Probe packets sent when a PTO fires (RFC 9002 §6.2.4 allows up to two).
inline constexpr unsigned pto_probe_packets = 2;
// PTO backoff stops doubling at this interval (or at the PTO itself, if longer). With a
// probe failing half of the time or more (over 30% loss each way), unbounded doubling
// gives stalls of unbounded expected length (0.6^k chance of waiting 2^k PTOs); capped,
// a dark path costs two probe packets a second, as sparse as the path keepalives.
inline constexpr seconds max_probe_timeout{1};
// The receiver sends a MAX_DATA once its reader has freed this fraction of the window.
inline constexpr unsigned max_data_update_divisor = 4;
// A side that only acknowledges sends one PING once its ACK frames carry this many ranges,
// so its ACKs get acknowledged and the ranges below them can be forgotten (RFC 9000 13.2.4).
inline constexpr std::size_t ack_ranges_before_ping = 4;
// Packet buffers a send buffer keeps for reuse, and the share of its limit they may hold:
// enough to avoid an allocation per message without pinning memory after a burst.
inline constexpr std::size_t send_buffer_max_spares = 64;
inline constexpr std::size_t send_buffer_spare_divisor = 4;

// ---- overlay -----------------------------------------------------------------------------
// Below the 30 s after which many NATs forget an idle UDP mapping.
inline constexpr seconds relay_keepalive_interval{15};
// Relays a node registers with at once; more only multiplies keepalive traffic.
inline constexpr std::size_t max_relays = 8;
// Endpoints (public, local) a relay returns for one address.
inline constexpr std::size_t max_endpoint_candidates = 8;
// Wait this long for a relay's "where is ADDR" answer before asking the next relay.
inline constexpr seconds address_lookup_timeout{5};
// Gap between simultaneous hole punching probes.
inline constexpr milliseconds hole_punch_probe_interval{200};
// A punch request (and the notify the relay sends the peer) is one unreliable datagram
// each way: the requester asks again this often within a round until the peer's probes
// show it is punching too (one lost notify left a pair relayed until the next round, 30 s;
// four tries a round still left 3 pairs in 1,000 relayed at 10% loss per site).
inline constexpr milliseconds hole_punch_request_retry{1000};
// Give up punching and stay on the relay after this long.
inline constexpr seconds hole_punch_timeout{10};
// A direct path silent this long (while the relay path works) falls back to the relay.
inline constexpr seconds direct_path_failover_timeout{3};
// Per-peer token bucket on a relay, so one peer cannot use a relay as a flood amplifier.
inline constexpr unsigned relay_forward_packets_per_second = 2000;
inline constexpr unsigned relay_forward_burst = 200;
// How often a node announces itself to others on the same host or link.
inline constexpr seconds local_discovery_interval{5};
// A dialed peer whose session is down is looked up again this often (it may have
// restarted on another endpoint).
inline constexpr seconds node_redial_interval{1};
// A relay may ask for keepalives more often than relay_keepalive_interval, never less, and
// never more often than this (a misconfigured relay must not make its nodes chatter).
inline constexpr seconds relay_keepalive_interval_min{5};
// A relay forgets a node after three missed keepalives.
inline constexpr seconds relay_registration_lifetime{3 * relay_keepalive_interval};
// An unanswered registration is resent after this long, doubling up to the maximum, so a
// lost packet costs a quarter second while a relay that is down costs one packet per
// interval.
inline constexpr milliseconds relay_register_retry_initial{250};
inline constexpr seconds relay_register_retry_max{relay_keepalive_interval};
// Registrations in a row that a relay leaves unanswered before it counts as dead: 0.25 +
// 0.5 + 1 + 2 + 4 s. Five tries, not three in 7 s: with 20% loss each way (36% of round
// trips lost) three misses in a row came once in 21 keepalives and dropped every route
// through a working relay; five come once in 170.
inline constexpr unsigned relay_missed_answers_dead = 5;
// Nodes one relay keeps registered; more are refused until some expire (bounded memory).
inline constexpr std::size_t relay_max_registrations = 65536;
// Per-peer token bucket for lookups and punch requests: each costs the relay an answer or
// two notifications, so a peer must not make it send them at forwarding rates.
inline constexpr unsigned relay_signal_per_second = 10;
inline constexpr unsigned relay_signal_burst = 20;
// Largest end-to-end datagram a relay forwards: the path MTU floor, since a relayed
// datagram is wrapped once more (sessions stay at udp_payload_initial over relays; the
// wrapped datagram to the relay is up to ~1.3 KB, over the IPv6 minimum MTU).
inline constexpr std::size_t relay_forward_max_packet = udp_payload_initial;
// Largest overlay control message: a forwarded datagram plus its header (key, type).
inline constexpr std::size_t overlay_message_max = relay_forward_max_packet + 64;
// Lookups a node keeps in flight; more are refused (each holds a timer).
inline constexpr std::size_t max_pending_lookups = 1024;
// Endpoints a path probes: the relay's candidates plus those learned from the peer's own
// probes and packets (peer-reflexive, as in ICE).
inline constexpr std::size_t max_path_candidates = 2 * max_endpoint_candidates;
// A direct path silent this long is probed, once per interval, so that an idle path is
// known alive and a dead one is noticed within direct_path_failover_timeout.
inline constexpr seconds direct_path_keepalive_interval{1};
// After a punch round fails (or a direct path dies) the next round waits this long,
// doubling up to the maximum: a peer behind a symmetric NAT costs little.
inline constexpr seconds hole_punch_retry_initial{30};
inline constexpr seconds hole_punch_retry_max{480};
// A path left with no route after a failed lookup asks again after this long, doubling up
// to the maximum (the peer may be re-registering after its relay restarted).
inline constexpr seconds path_lookup_retry_initial{2};
inline constexpr seconds path_lookup_retry_max{30};
// Probes remembered for matching their acks (10 s of probing 16 candidates at 5/s is 800).
inline constexpr std::size_t max_outstanding_probes = 1024;
// A local announcement older than three announce intervals belongs to a dead node.
inline constexpr seconds local_announcement_lifetime{3 * local_discovery_interval};
// Announcements dated this far in the future are refused (one host, one clock: small).
inline constexpr seconds local_announcement_max_skew{2};
// Largest local announcement file: key, candidates, time, signature and framing.
inline constexpr std::size_t local_announcement_max = 512;

// ---- overlay runtime (relay key exchange, relayed sessions, ping) --------------------------
// "What is your key?" for a relay given as HOST:PORT: 4-byte type, 8-byte nonce, zero
// padding, so the answer (type, nonce, 32-byte key) is never larger than the question.
inline constexpr std::size_t relay_key_request_size = 64;
inline constexpr std::size_t relay_key_answer_size = 4 + 8 + key_size;
// A relay answers at most this many key requests per second (burst as many): they cost
// nothing but a copy, and the cap keeps a spoofed flood from becoming a reflected one.
inline constexpr unsigned relay_key_answers_per_second = 200;
// An unanswered key request is sent again after this long, doubling up to the register
// retry maximum (a relay that is down costs one small packet per interval).
inline constexpr milliseconds relay_key_retry_initial{500};
// (relay, peer) pairs a transport tells apart as the sources of relayed datagrams (the
// session layer sees each pair as one synthetic source); beyond it new pairs are dropped.
inline constexpr std::size_t transport_max_relayed_sources = 65536;
// A relay that has not answered anything since a message we sent it this long ago (three
// register retries) is suspected to have restarted and lost our session keys, which
// it cannot tell us: the node handshakes with it again (cheap if it had not).
inline constexpr milliseconds relay_silence_rehandshake{1000};

// A peer with data of ours unacknowledged and nothing authenticated from it for this long
// may have restarted and lost our session keys (a broker killed and started again: its new
// run drops our packets and cannot say why), so the host handshakes with it again, then
// again after twice the wait, up to the maximum, until it hears from it. A live peer only
// pays a handshake. (WireGuard waits keepalive + rekey timeout, 15 s: a queue cannot.)
inline constexpr milliseconds peer_silence_rehandshake{1000};
inline constexpr milliseconds peer_silence_rehandshake_max{8000};

// ---- mq ----------------------------------------------------------------------------------
// Command names are identifiers ("users.get"), not data.
inline constexpr std::size_t max_command_name = 64;
// Headers are metadata; data belongs in the payload.
inline constexpr std::size_t max_headers = 32;
inline constexpr std::size_t max_header_name = 64;
inline constexpr std::size_t max_header_value = 1 * KiB;
// Commands one consumer may subscribe to.
inline constexpr std::size_t max_subscriptions = 256;
// Priorities 0..max_priority; RabbitMQ advises at most 10 levels.
inline constexpr std::uint8_t max_priority = 9;
// Deliveries before a message moves to the dead-letter queue (poison message guard).
inline constexpr std::uint32_t broker_max_deliveries = 5;
// A delivered message not answered within this time goes to another consumer.
inline constexpr seconds broker_visibility_timeout{30};
// Unanswered deliveries a consumer holds by default: keeps it busy without hoarding work.
inline constexpr std::uint32_t broker_prefetch_default = 16;
// Queue bounds before producers are told to slow down.
inline constexpr std::uint64_t broker_queue_max_messages = 1'000'000;
inline constexpr std::uint64_t broker_queue_max_bytes = std::uint64_t{1} << 30;
// Message ids remembered for duplicate detection (NATS JetStream's default window).
inline constexpr seconds dedupe_window{120};
// Answers kept for an offline producer this long.
inline constexpr seconds answer_ttl_default{3600};
// A producer resends an unconfirmed publish after this long.
inline constexpr seconds publish_retry_interval{1};
// Version of the queue protocol spoken in hello/hello_ok; a peer older than this is refused.
inline constexpr std::uint32_t mq_protocol_version = 1;
// Client names (in hello) label logs and stats; they are not data.
inline constexpr std::size_t max_client_name = 64;
// Largest payload plus headers of one queue message: leaves 64 KiB of every channel message
// for the deliver envelope (tag, ids, producer key, command, headers), so whatever a broker
// accepted it can always deliver, and a journal record of it fits log_record_max_body.
inline constexpr std::size_t max_payload = max_message_size - 64 * KiB;
// Longest TTL a publish may ask for; a longer one is a client bug, not a wish.
inline constexpr std::chrono::hours max_message_ttl{24 * 30};
// Reject reasons, refusal and nack texts: one human sentence.
inline constexpr std::size_t max_reason_text = 256;
// A consumer may hold at most this many unanswered deliveries, whatever it asks for.
inline constexpr std::uint32_t max_prefetch = 65536;
// Dead-letter entries one dlq_list answer carries; an admin pages through the rest.
inline constexpr std::uint32_t max_dlq_page = 256;
// Dead-letter ids one dlq_requeue/dlq_purge request may name.
inline constexpr std::uint32_t max_dlq_batch = 1024;
// Expired messages and answers are swept at most this often (dispatch never delivers an
// expired message in between), so a large backlog is not rescanned on every timer.
inline constexpr seconds broker_expiry_sweep_interval{1};
// The broker rewrites its oldest live records to the log's head once the span of records
// it keeps is over twice what is live and at least this many slots, so a single stuck
// message (DLQ, rare command) cannot pin old segments on disk forever.
inline constexpr std::uint64_t broker_compact_min_span = 65536;
// Records rewritten per compaction step: bounds the work done in one loop iteration.
inline constexpr std::uint32_t broker_compact_batch = 256;
// Dedupe entries per generation — runs of consecutive publish ids (one per producer while
// its ids stay consecutive) and ids out of order, ~16..50 bytes each: beyond it the window
// is shortened (counted) instead of memory growing without bound.
inline constexpr std::size_t dedupe_max_entries = std::size_t{4} << 20;
// Messages a producer keeps unanswered (or unconfirmed, when no answer is wanted).
inline constexpr std::uint32_t producer_inflight_default = 1024;
// First pause after a queue_full nack; doubled up to publish_retry_interval.
inline constexpr milliseconds publish_backoff_initial{50};

// ---- storage -------------------------------------------------------------------------------
// Segments are deleted whole once acknowledged, so this bounds disk left over.
inline constexpr std::size_t log_segment_size = 64 * MiB;
// Each record: 32-bit length then CRC32C, both little-endian.
inline constexpr std::size_t log_record_header_size = 8;
// `batch` sync policy: fsync at least this often.
inline constexpr milliseconds sync_batch_interval_default{10};
// Largest record body: one message of max_message_size plus its command, headers and the
// broker's bookkeeping. A longer length field is a corrupt header, never an allocation.
inline constexpr std::size_t log_record_max_body = max_message_size + 1 * MiB;

// ---- runtime: broker group commit -----------------------------------------------------------
// -sync=always: records no confirmation waits for (answers, acknowledgements) wait this
// long at most for an fdatasync; a waiting publish starts one at once and they ride along.
// An fdatasync of them alone would make the publishes that follow wait for two.
inline constexpr milliseconds sync_always_ungated_delay{2};
// A producer keeps an encoded publish's buffer up to this size for the next message once
// the broker has it (small messages then cost no allocation); larger ones are freed.
inline constexpr std::size_t producer_kept_buffer = 1 * KiB;

// A producer or consumer PINGs its broker after this long with nothing sent (the broker's
// ACK answers), so a quiet client keeps its session: without it both ends closed the
// session after session_idle_timeout, the broker took a consumer busy with a long job for
// gone and handed its message out again, and the answer was refused. Like NATS's PING and
// RabbitMQ's heartbeat; a client that stops pinging is gone after session_idle_timeout.
inline constexpr seconds client_keepalive_interval{15};
// A producer with messages awaiting their answers that has heard nothing from its broker
// for this long PINGs it: a broker that restarted meanwhile (and lost the producer's
// session) is then noticed within about a second more (peer_silence_rehandshake), not at
// the next keepalive. A broker that is only busy answers the PING's ACK.
inline constexpr seconds producer_waiting_probe_interval{2};
static_assert(2 * client_keepalive_interval < session_idle_timeout,
              "a lost PING and its probe still land within the idle timeout");

// ---- msgpack decoding ------------------------------------------------------------------------
// Our messages nest at most a few levels; deep nesting only serves stack and CPU attacks.
inline constexpr std::uint32_t msgpack_max_depth = 8;
// Hard ceiling for a configured depth: the decoder keeps one fixed slot per level.
inline constexpr std::uint32_t msgpack_max_depth_cap = 32;
// Entries of one array or map; a decoder may reserve this much before reading them.
inline constexpr std::uint32_t msgpack_max_entries = 65536;
// Strings carry names, headers and error texts, never bulk data.
inline constexpr std::uint32_t msgpack_max_str = 64 * KiB;
// Binary carries payloads: up to a whole message.
inline constexpr std::uint32_t msgpack_max_bin = max_message_size;
// peermq defines no ext types; small ones are tolerated for forward compatibility.
inline constexpr std::uint32_t msgpack_max_ext = 256;

// Relations the numbers above must keep.
static_assert(udp_payload_initial <= udp_payload_max);
static_assert(min_fragment_payload < udp_payload_initial);
static_assert(std::uint64_t{max_fragment_count} * min_fragment_payload >= max_message_size);
static_assert(rekey_after_time < reject_after_time);
static_assert(rekey_after_messages < reject_after_messages);
static_assert(keepalive_interval < session_idle_timeout);
static_assert(handshake_retry_initial <= handshake_retry_max);
static_assert(relay_keepalive_interval < seconds{30});
static_assert(relay_keepalive_interval_min <= relay_keepalive_interval);
static_assert(direct_path_keepalive_interval < direct_path_failover_timeout);
// A channel with data outstanding probes at least this often, so under loss its own probes
// and their ACKs keep a direct path from looking silent.
static_assert(max_probe_timeout < direct_path_failover_timeout);
static_assert(hole_punch_probe_interval < hole_punch_timeout);
// A forwarded datagram wrapped in its relay session (transport frame header + overlay
// message + session header and tag) must still fit the largest UDP payload.
static_assert(transport_frame_header_size + overlay_message_max + session_overhead <=
              udp_payload_max);
static_assert(relay_key_answer_size <= relay_key_request_size);
static_assert(msgpack_max_depth <= msgpack_max_depth_cap);
static_assert(broker_max_deliveries <= 255);  // the broker keeps the count in one byte
static_assert(max_payload + 64 * KiB <= log_record_max_body);
static_assert(publish_backoff_initial < publish_retry_interval);
static_assert(msgpack_max_bin <= max_message_size);
static_assert(log_record_max_body <= 0xFFFF'FFFFu - log_record_header_size);
static_assert(max_headers <= msgpack_max_entries && max_header_value <= msgpack_max_str);

}  // namespace peermq::limits
