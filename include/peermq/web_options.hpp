// Where a node serves browsers: the `web` options of Relay and Broker (the command line's
// -web, -web-cert, -web-key and -web-root), checked before anything starts.
//
//   listen     TCP IP:PORT, e.g. "127.0.0.1:8080" (port 0: any free port); empty: no web
//              listener. On it: the page (GET /), its description (GET /peermq.json:
//              {"address":"ADDR","websocket":"/peermq"}) and the WebSocket /peermq, in
//              which one binary message carries one encrypted datagram.
//   cert_file, key_file
//              PEM certificate and private key: both given, https:// and wss://; both
//              empty, http:// and ws://.
//   root       the directory of the page; empty: <directory of the program>/web if it
//              exists (a build tree), else <directory of the program>/../share/peermq/web
//              (an installed one).
//
// A node that serves browsers is their relay: a page registers with it, and reaches the
// overlay (and a broker serving it, by its address) through it; the node forwards only
// ciphertext and rate-limits each WebSocket peer as it does a UDP one.
//
// Errors: QueueError::invalid_options, with `detail` (when given) saying what is wrong.
// Threads: any.
#pragma once

#include <string>

#include <peermq/result.hpp>

namespace peermq {

struct WebOptions {
  std::string listen;     // TCP IP:PORT; empty: no web listener
  std::string cert_file;  // PEM; with key_file, serve https:// and wss://
  std::string key_file;   // PEM private key of cert_file
  std::string root;       // empty: the page installed with the program
};

// Checks the options as start() will: listen parses as IP:PORT, cert_file and key_file
// are both given or both empty. Files are read at start().
Result<void> check_web(const WebOptions& options, std::string* detail = nullptr);

}  // namespace peermq
