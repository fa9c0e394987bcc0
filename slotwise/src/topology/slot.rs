//! Hash slots: which of the 16,384 slots a key belongs to.
//!
//! Owns the CRC16 (XMODEM) checksum and the hash-tag rule. It does not know which node serves a
//! slot (that is the slot map's job) nor where a command keeps its keys (that is routing's).

use crate::protocol::SLOT_COUNT;

/// The CRC16-XMODEM generator polynomial (x^16 + x^12 + x^5 + 1), the one Redis Cluster uses.
const POLYNOMIAL: u16 = 0x1021;

/// Eight tables for slicing-by-8: `CRC16_TABLES[k][v]` is what byte value `v` adds to the
/// register when `k` more bytes follow it in the block. `CRC16_TABLES[0]` is the classic
/// one-byte table. Routing hashes every key of every command, and eight independent lookups a
/// block cost far fewer instructions than eight dependent ones (a 16-byte key: two blocks).
static CRC16_TABLES: [[u16; 256]; 8] = crc16_tables();

/// Computes [`CRC16_TABLES`] at compile time.
const fn crc16_tables() -> [[u16; 256]; 8] {
    let mut tables = [[0u16; 256]; 8];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ POLYNOMIAL
            } else {
                crc << 1
            };
            bit += 1;
        }
        tables[0][byte] = crc;
        byte += 1;
    }
    // One more byte after `v`: its contribution moves on by eight bits.
    let mut k = 1;
    while k < 8 {
        let mut v = 0;
        while v < 256 {
            let prev = tables[k - 1][v];
            tables[k][v] = (prev << 8) ^ tables[0][(prev >> 8) as usize];
            v += 1;
        }
        k += 1;
    }
    tables
}

/// CRC16-XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor.
fn crc16(data: &[u8]) -> u16 {
    let t = &CRC16_TABLES;
    let mut crc = 0u16;
    let mut blocks = data.chunks_exact(8);
    for b in &mut blocks {
        // The 16-bit register covers the block's first two bytes; the other six are data only.
        let hi = (crc >> 8) as u8 ^ b[0];
        let lo = crc as u8 ^ b[1];
        crc = t[7][usize::from(hi)]
            ^ t[6][usize::from(lo)]
            ^ t[5][usize::from(b[2])]
            ^ t[4][usize::from(b[3])]
            ^ t[3][usize::from(b[4])]
            ^ t[2][usize::from(b[5])]
            ^ t[1][usize::from(b[6])]
            ^ t[0][usize::from(b[7])];
    }
    blocks.remainder().iter().fold(crc, |crc, &byte| {
        let index = usize::from((crc >> 8) as u8 ^ byte);
        (crc << 8) ^ t[0][index]
    })
}

/// The part of `key` that is hashed: the bytes between the first `{` and the first `}` after
/// it, when there is at least one; otherwise the whole key.
///
/// An empty tag (`foo{}{bar}`) does not fall through to a later pair: the server hashes the whole
/// key then, and a client must agree with the server byte for byte.
fn hashed_part(key: &[u8]) -> &[u8] {
    let Some(open) = find_open_brace(key) else {
        return key;
    };
    let after = &key[open + 1..];
    match after.iter().position(|&b| b == b'}') {
        Some(close) if close > 0 => &after[..close],
        _ => key,
    }
}

/// The index of the first `{` in `key`. Most keys have none, and every key of every command
/// is searched, so eight bytes are tested at a time (the classic "has a zero byte" bit trick on
/// the key xor'd with `{` in every byte).
fn find_open_brace(key: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const BRACES: u64 = u64::from_ne_bytes([b'{'; 8]);
    let mut blocks = key.chunks_exact(8);
    let mut start = 0;
    for block in &mut blocks {
        let mut word = [0u8; 8];
        word.copy_from_slice(block);
        let x = u64::from_ne_bytes(word) ^ BRACES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            // Somewhere in this block: find which byte.
            return block.iter().position(|&b| b == b'{').map(|i| start + i);
        }
        start += 8;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| b == b'{')
        .map(|i| start + i)
}

/// The hash slot of `key`: CRC16-XMODEM of the key, or of its hash tag, modulo 16,384.
///
/// A hash tag is the part between the first `{` and the first `}` after it, when that part is
/// not empty. Keys with the same tag share a slot, which is what lets a multi-key command or a
/// transaction work on them in a cluster.
///
/// ```
/// use slotwise::keyslot;
///
/// assert_eq!(keyslot(b"123456789"), 12739);
/// assert_eq!(keyslot(b"{user1000}.following"), keyslot(b"{user1000}.followers"));
/// assert!(keyslot(b"any key at all") < 16384);
/// assert_eq!(keyslot("foo"), keyslot(b"foo"));
/// ```
pub fn keyslot(key: impl AsRef<[u8]>) -> u16 {
    slot_of(key.as_ref())
}

fn slot_of(key: &[u8]) -> u16 {
    // SLOT_COUNT is a power of two, so the modulo is a mask.
    crc16(hashed_part(key)) & (SLOT_COUNT - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The checksum one bit at a time, straight from the definition, to check the table against.
    fn crc16_bitwise(data: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &byte in data {
            crc ^= u16::from(byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ POLYNOMIAL
                } else {
                    crc << 1
                };
            }
        }
        crc
    }

    #[test]
    fn crc16_matches_the_definition_at_every_length() {
        let data: Vec<u8> = (0..40u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..=data.len() {
            assert_eq!(
                crc16(&data[..len]),
                crc16_bitwise(&data[..len]),
                "CRC16 of the first {len} bytes"
            );
        }
    }

    #[test]
    fn finds_the_first_open_brace_at_every_position() {
        for len in 0..24 {
            assert_eq!(
                find_open_brace(&vec![b'a'; len]),
                None,
                "no brace in {len} bytes"
            );
            for at in 0..len {
                let mut key = vec![b'z'; len];
                key[at] = b'{';
                if at + 1 < len {
                    key[len - 1] = b'{';
                }
                // Bytes next to '{' in value must not be mistaken for it.
                for (i, b) in key.iter_mut().enumerate().take(at) {
                    *b = if i % 2 == 0 { b'z' } else { 0xfb };
                }
                assert_eq!(find_open_brace(&key), Some(at), "first brace of {key:?}");
            }
        }
    }

    #[test]
    fn crc16_check_value() {
        assert_eq!(crc16(b"123456789"), 0x31C3, "the XMODEM check value");
        assert_eq!(keyslot(b"123456789"), 12739);
    }

    #[test]
    fn empty_key_is_slot_zero() {
        assert_eq!(keyslot(b""), 0);
    }

    #[test]
    fn hash_tag_rules() {
        assert_eq!(
            keyslot(b"{user1000}.following"),
            keyslot(b"{user1000}.followers"),
            "same tag, same slot"
        );
        assert_eq!(keyslot(b"{user1000}.following"), keyslot(b"user1000"));
        assert_eq!(
            hashed_part(b"foo{}{bar}"),
            b"foo{}{bar}",
            "empty tag: whole key"
        );
        assert_eq!(hashed_part(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(
            hashed_part(b"foo{bar}{zap}"),
            b"bar",
            "only the first tag counts"
        );
        assert_eq!(
            hashed_part(b"a}b{c}"),
            b"c",
            "a closing brace before the opening one is ignored"
        );
        assert_eq!(
            hashed_part(b"foo{bar"),
            b"foo{bar",
            "unclosed tag: whole key"
        );
        assert_eq!(hashed_part(b"{}"), b"{}");
        assert_eq!(hashed_part(b"{"), b"{");
    }

    #[test]
    fn slots_computed_by_a_real_server() {
        // Answers of `CLUSTER KEYSLOT` from redis-server 7.0.15.
        let vectors: &[(&[u8], u16)] = &[
            (b"foo", 12182),
            (b"bar", 5061),
            (b"hello", 866),
            (b"slotwise", 8248),
            (b"{user1000}.following", 3443),
            (b"{user1000}.followers", 3443),
            (b"foo{}{bar}", 8363),
            (b"foo{{bar}}zap", 4015),
            (b"{bar", 4015),
            (b"foo{bar}{zap}", 5061),
            (b"a}b{c}", 7365),
            (b"{}", 15257),
            (b"{", 4092),
            (b"}", 12090),
            (b"{a}b", 15495),
            (b"x{}", 2608),
            (b"123456789", 12739),
            (b"", 0),
        ];
        for &(key, slot) in vectors {
            assert_eq!(
                keyslot(key),
                slot,
                "keyslot({:?}) should be {slot}",
                key.escape_ascii().to_string()
            );
        }
    }

    proptest! {
        #[test]
        fn table_agrees_with_bitwise_definition(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(crc16(&data), crc16_bitwise(&data));
        }

        #[test]
        fn tagged_keys_share_the_slot_of_their_tag(
            tag in "[a-z0-9]{1,12}",
            before in "[a-z0-9]{0,8}",
            after in "[a-z0-9{}]{0,8}",
        ) {
            let key = format!("{before}{{{tag}}}{after}");
            prop_assert_eq!(keyslot(key.as_bytes()), keyslot(tag.as_bytes()));
        }
    }
}
