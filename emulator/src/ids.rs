//! Session ids and the key session passwords derive from: the server gives them out, and a
//! `file:` store keeps them, so both start from here.

/// The first session id given out; ids then count up. Real ids carry the server id in the top
/// byte and a time stamp below; any positive value behaves the same.
pub(crate) const FIRST_SESSION_ID: i64 = 0x0100_0000_0000_0001;

/// A random key for session passwords (the standard library's per-process random hasher
/// keys, taken twice).
pub(crate) fn random_key() -> u128 {
    let random = std::hash::RandomState::new();
    let high = u128::from(std::hash::BuildHasher::hash_one(&random, 0u8));
    let low = u128::from(std::hash::BuildHasher::hash_one(&random, 1u8));
    high << 64 | low
}
