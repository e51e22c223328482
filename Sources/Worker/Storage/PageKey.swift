import CacheProtocol

/// The key of one full page of a prompt: the chained prefix key (`CacheProtocol.PrefixKey`) that
/// names the page's tokens and everything before them. Two pages with equal keys hold the same K/V.
///
/// The worker's storage only compares and hashes keys; the service computes them.
public typealias PageKey = PrefixKey
