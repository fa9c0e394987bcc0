//! Where to reach a node: the endpoint a discovery reply states, and what to use when it states
//! none; which of its ports to dial.
//!
//! Owns the rule for empty, null and `?` endpoints, the choice between a node's plain-text and
//! TLS port, and how the node that answered is recognised among the nodes it lists. It does not
//! parse replies, and it does not remap addresses: the cluster's address-remap hook (NAT,
//! containers) applies to the hosts chosen here.

use std::collections::HashSet;

/// The address a discovery reply was read from: the host (and port) the client dialled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Origin<'a> {
    /// The host the client connected to.
    pub(crate) host: &'a str,
    /// The port the client connected to. Without it, the node that answered cannot be told apart
    /// from the others, which matters only for `?` endpoints.
    pub(crate) port: Option<u16>,
    /// The client connected with TLS, so it reaches the other nodes on their TLS ports.
    pub(crate) tls: bool,
}

impl<'a> Origin<'a> {
    /// The node at `host:port` answered.
    pub(crate) fn new(host: &'a str, port: u16) -> Origin<'a> {
        Origin {
            host,
            port: Some(port),
            tls: false,
        }
    }

    #[cfg(test)]
    /// A node at `host` answered; its port is not known.
    pub(crate) fn host_only(host: &'a str) -> Origin<'a> {
        Origin {
            host,
            port: None,
            tls: false,
        }
    }

    /// The same origin, reached with TLS when `tls` is true. Default is plain text.
    pub(crate) fn over_tls(self, tls: bool) -> Origin<'a> {
        Origin { tls, ..self }
    }
}

/// The port to dial of a node that lists `port` and `tls_port`, either absent or 0 when the
/// node has no such listener: the one for how the client connects, else the other.
///
/// A node with both listeners lists both in `CLUSTER SHARDS` whoever asks, and a TLS client
/// dialling the plain-text port would fail its handshake (a plain one, get no answer to its
/// `HELLO` on the TLS port). `CLUSTER SLOTS`, `MOVED` and `ASK` need no choice: the server names
/// the port that matches the asking client's connection.
pub(super) fn client_port(port: Option<u16>, tls_port: Option<u16>, tls: bool) -> Option<u16> {
    let port = port.filter(|&p| p != 0);
    let tls_port = tls_port.filter(|&p| p != 0);
    if tls {
        tls_port.or(port)
    } else {
        port.or(tls_port)
    }
}

/// A node's endpoint as a reply states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    /// A host name or IP address, to be used as is.
    Given(String),
    /// Empty (`CLUSTER SHARDS`) or null (`CLUSTER SLOTS`): the server runs with
    /// `cluster-preferred-endpoint-type unknown-endpoint`, which documents that clients are to
    /// use the host they dialled with the node's port (typically nodes behind one load balancer
    /// or port-forwarding host). Redis before 7 also sent an empty IP for a node that had not
    /// learned its own address yet, which can only be the node that answered.
    Dialled,
    /// `?` (or no endpoint at all): hostnames are the preferred endpoint type and this node
    /// announced none.
    Unknown,
}

impl Endpoint {
    /// Classifies an endpoint field; `None` is a null.
    pub(super) fn from_reply(text: Option<String>) -> Endpoint {
        match text {
            None => Endpoint::Dialled,
            Some(text) if text.is_empty() => Endpoint::Dialled,
            Some(text) if text == "?" => Endpoint::Unknown,
            Some(text) => Endpoint::Given(text),
        }
    }
}

/// What a reply says about reaching one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct NodeAddress {
    /// The node id, empty when the reply has none.
    pub(super) id: String,
    /// The client port.
    pub(super) port: u16,
    /// The endpoint the server prefers clients to use.
    pub(super) endpoint: Endpoint,
    /// The node's IP as the cluster knows it, when the reply gives it apart from the endpoint.
    pub(super) ip: Option<String>,
}

/// True for an address field that names something: not empty, not `?`.
fn is_real(host: &str) -> bool {
    !host.is_empty() && host != "?"
}

/// Picks a host for each node of one reply.
#[derive(Debug)]
pub(super) struct Resolver<'a> {
    origin: Origin<'a>,
    /// The node that answered, when it can be recognised.
    answered: Option<NodeAddress>,
}

impl<'a> Resolver<'a> {
    /// A resolver for a reply from `origin` that lists `nodes` (a node may be listed more than
    /// once, as in `CLUSTER SLOTS`).
    pub(super) fn new<'n>(
        origin: Origin<'a>,
        nodes: impl IntoIterator<Item = &'n NodeAddress>,
    ) -> Resolver<'a> {
        Resolver {
            origin,
            answered: answering_node(origin, nodes),
        }
    }

    /// The host to reach `node` at.
    ///
    /// - a stated endpoint is used as is;
    /// - an empty or null endpoint means the host the client dialled, for every node;
    /// - `?` means the dialled host for the node that answered (the client just reached it
    ///   there), and for any other node its IP when the reply gives a real one, else the dialled
    ///   host as the last guess.
    pub(super) fn host(&self, node: &NodeAddress) -> String {
        match &node.endpoint {
            Endpoint::Given(host) => host.clone(),
            Endpoint::Dialled => self.origin.host.to_owned(),
            Endpoint::Unknown => {
                let is_answering = self.answered.as_ref() == Some(node);
                match &node.ip {
                    Some(ip) if !is_answering && is_real(ip) => ip.clone(),
                    _ => self.origin.host.to_owned(),
                }
            }
        }
    }
}

/// The node that answered: the one node listening on the dialled port or, when several nodes
/// share that port (one per host), the one whose address is the dialled host. `None` when that
/// does not single one out.
fn answering_node<'n>(
    origin: Origin<'_>,
    nodes: impl IntoIterator<Item = &'n NodeAddress>,
) -> Option<NodeAddress> {
    let port = origin.port?;
    // A node listed several times (once per `CLUSTER SLOTS` entry) is one candidate. Nodes
    // without ids cannot be told apart that way, so each listing counts.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut candidates: Vec<&NodeAddress> = nodes
        .into_iter()
        .filter(|node| node.port == port && (node.id.is_empty() || seen.insert(node.id.as_str())))
        .collect();
    if candidates.len() > 1 {
        candidates.retain(|c| {
            let endpoint_matches =
                matches!(&c.endpoint, Endpoint::Given(host) if host.eq_ignore_ascii_case(origin.host));
            let ip_matches = c.ip.as_deref() == Some(origin.host);
            endpoint_matches || ip_matches
        });
    }
    match candidates.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, port: u16, endpoint: Endpoint, ip: Option<&str>) -> NodeAddress {
        NodeAddress {
            id: id.to_owned(),
            port,
            endpoint,
            ip: ip.map(str::to_owned),
        }
    }

    #[test]
    fn the_port_follows_the_connection() {
        assert_eq!(client_port(Some(7000), Some(8000), false), Some(7000));
        assert_eq!(client_port(Some(7000), Some(8000), true), Some(8000));
        // One listener only: that one, either way.
        assert_eq!(client_port(Some(7000), None, true), Some(7000));
        assert_eq!(client_port(Some(0), Some(8000), false), Some(8000));
        assert_eq!(client_port(Some(7000), Some(0), true), Some(7000));
        assert_eq!(client_port(None, None, true), None);
        assert_eq!(client_port(Some(0), Some(0), false), None);
    }

    #[test]
    fn classifies_endpoints() {
        assert_eq!(Endpoint::from_reply(None), Endpoint::Dialled);
        assert_eq!(Endpoint::from_reply(Some(String::new())), Endpoint::Dialled);
        assert_eq!(Endpoint::from_reply(Some("?".into())), Endpoint::Unknown);
        assert_eq!(
            Endpoint::from_reply(Some("redis-0.svc".into())),
            Endpoint::Given("redis-0.svc".into())
        );
    }

    #[test]
    fn question_mark_uses_dialled_host_only_for_the_answering_node() {
        let nodes = [
            node("a", 7000, Endpoint::Unknown, Some("10.0.0.1")),
            node("b", 7001, Endpoint::Unknown, Some("10.0.0.2")),
            node("c", 7002, Endpoint::Unknown, Some("?")),
            node("d", 7003, Endpoint::Unknown, None),
        ];
        let resolver = Resolver::new(Origin::new("public.example", 7000), &nodes);
        let hosts: Vec<String> = nodes.iter().map(|n| resolver.host(n)).collect();
        assert_eq!(
            hosts,
            [
                "public.example",
                "10.0.0.2",
                "public.example",
                "public.example"
            ],
            "the answering node is where we reached it; others use their IP when real"
        );
    }

    #[test]
    fn without_the_port_no_node_is_taken_for_the_answering_one() {
        let nodes = [node("a", 7000, Endpoint::Unknown, Some("10.0.0.1"))];
        let resolver = Resolver::new(Origin::host_only("public.example"), &nodes);
        assert_eq!(resolver.host(&nodes[0]), "10.0.0.1");
    }

    #[test]
    fn shared_ports_are_told_apart_by_address() {
        let nodes = [
            node("a", 6379, Endpoint::Unknown, Some("10.0.0.1")),
            node("b", 6379, Endpoint::Unknown, Some("10.0.0.2")),
        ];
        let resolver = Resolver::new(Origin::new("10.0.0.2", 6379), &nodes);
        assert_eq!(resolver.host(&nodes[0]), "10.0.0.1");
        assert_eq!(resolver.host(&nodes[1]), "10.0.0.2");
        // Nothing singles one out: each keeps its own IP.
        let resolver = Resolver::new(Origin::new("lb.example", 6379), &nodes);
        assert_eq!(resolver.host(&nodes[0]), "10.0.0.1");
        assert_eq!(resolver.host(&nodes[1]), "10.0.0.2");
    }

    #[test]
    fn a_node_listed_twice_is_one_candidate() {
        let twice = node("a", 7000, Endpoint::Unknown, Some("10.0.0.1"));
        let nodes = [twice.clone(), twice];
        let resolver = Resolver::new(Origin::new("public.example", 7000), &nodes);
        assert_eq!(resolver.host(&nodes[1]), "public.example");
    }

    #[test]
    fn nodes_without_ids_on_one_port_are_not_guessed_at() {
        let nodes = [
            node("", 7000, Endpoint::Unknown, Some("10.0.0.1")),
            node("", 7000, Endpoint::Unknown, Some("10.0.0.2")),
        ];
        let resolver = Resolver::new(Origin::new("public.example", 7000), &nodes);
        assert_eq!(resolver.host(&nodes[0]), "10.0.0.1");
        assert_eq!(resolver.host(&nodes[1]), "10.0.0.2");
    }

    #[test]
    fn empty_endpoints_use_the_dialled_host_for_every_node() {
        let nodes = [
            node("a", 7000, Endpoint::Dialled, Some("10.0.0.1")),
            node("b", 7001, Endpoint::Dialled, Some("10.0.0.2")),
        ];
        let resolver = Resolver::new(Origin::new("lb.example", 7000), &nodes);
        assert_eq!(resolver.host(&nodes[0]), "lb.example");
        assert_eq!(resolver.host(&nodes[1]), "lb.example");
    }

    #[test]
    fn given_endpoints_win() {
        let nodes = [node(
            "a",
            7000,
            Endpoint::Given("node-a.example".into()),
            Some("10.0.0.1"),
        )];
        let resolver = Resolver::new(Origin::new("elsewhere", 7000), &nodes);
        assert_eq!(resolver.host(&nodes[0]), "node-a.example");
    }
}
