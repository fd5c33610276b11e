//! CRC-16/CCITT-FALSE, the checksum tag 63 carries: polynomial 0x1021, initial value 0xFFFF, no reflection,
//! no final XOR, computed over the UTF-8 bytes of the payload up to and including `6304`.

/// One step of the bitwise algorithm for every byte value, computed at compile time.
const TABLE: [u16; 256] = {
    let mut table = [0_u16; 256];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = (byte as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[byte] = crc;
        byte += 1;
    }
    table
};

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over `data`, as tag 63 carries it.
///
/// Pass the UTF-8 bytes of the payload: a CRC over UTF-16 code units (what JavaScript's `charCodeAt`
/// gives) differs as soon as the merchant name has a non-ASCII character.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF_u16, |crc, byte| {
        (crc << 8) ^ TABLE[usize::from((crc >> 8) as u8 ^ byte)]
    })
}

/// The CRC as tag 63 writes it: always four uppercase hex digits (`0FA0`, never `FA0`).
pub(super) fn crc_hex(data: &[u8]) -> String {
    format!("{:04X}", crc16(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitwise(data: &[u8]) -> u16 {
        data.iter().fold(0xFFFF_u16, |mut crc, byte| {
            crc ^= u16::from(*byte) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
            crc
        })
    }

    #[test]
    fn matches_the_catalogued_check_value() {
        // The "check" value of CRC-16/CCITT-FALSE in the CRC catalogue.
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(b""), 0xFFFF);
    }

    #[test]
    fn table_driven_equals_bitwise_for_every_single_byte_and_a_long_text() {
        for byte in 0..=255_u8 {
            assert_eq!(crc16(&[byte]), bitwise(&[byte]), "byte {byte:#04x}");
        }
        let text = "00020101021126570011ID.DANA.WWW5922Warung Sayur Bu Sugeng 最佳运输 😀6304";
        assert_eq!(crc16(text.as_bytes()), bitwise(text.as_bytes()));
    }

    #[test]
    fn hex_is_zero_padded_to_four_uppercase_digits() {
        let data = (0_u32..)
            .map(|n| n.to_string())
            .find(|s| crc16(s.as_bytes()) < 0x1000)
            .expect("some decimal string has a CRC below 0x1000");
        let hex = crc_hex(data.as_bytes());
        assert_eq!(hex.len(), 4);
        assert!(hex.starts_with('0'), "{hex}");
        assert_eq!(hex, hex.to_uppercase());
    }
}
