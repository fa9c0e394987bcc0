//! One node: connect, handshake, multiplexing, timeouts and reconnects.
