//! Transcoding to UTF-8.

use std::io::Read;

use conform_model::TextEncoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

/// Wraps `input` so that it reads as UTF-8 without a byte-order mark.
///
/// UTF-8 passes through unchanged (invalid sequences are caught by the
/// decoders). GB18030 and GBK are decoded with encoding_rs, which writes
/// U+FFFD for invalid sequences; a UTF-8 or UTF-16 BOM overrides the declared
/// encoding, as spreadsheet programs expect.
pub fn text_reader(
    input: impl Read + Send + 'static,
    encoding: TextEncoding,
) -> Box<dyn Read + Send> {
    let builder = match encoding {
        TextEncoding::Utf8 => {
            let mut b = DecodeReaderBytesBuilder::new();
            b.encoding(None)
                .utf8_passthru(true)
                .bom_sniffing(true)
                .strip_bom(true);
            b
        }
        TextEncoding::Gb18030 => {
            let mut b = DecodeReaderBytesBuilder::new();
            b.encoding(Some(encoding_rs::GB18030))
                .bom_sniffing(true)
                .strip_bom(true);
            b
        }
        TextEncoding::Gbk => {
            let mut b = DecodeReaderBytesBuilder::new();
            b.encoding(Some(encoding_rs::GBK))
                .bom_sniffing(true)
                .strip_bom(true);
            b
        }
    };
    Box::new(builder.build(input))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8], encoding: TextEncoding) -> String {
        let mut out = String::new();
        text_reader(std::io::Cursor::new(bytes.to_vec()), encoding)
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn utf8_bom_is_stripped() {
        assert_eq!(read(b"\xEF\xBB\xBFa,b", TextEncoding::Utf8), "a,b");
    }

    #[test]
    fn gb18030_two_and_four_byte_sequences() {
        // 零 (two bytes) and € (0xA2E3 in GB18030) and 𠀀 U+20000 (four bytes: 0x95328236).
        let (bytes, _, _) = encoding_rs::GB18030.encode("零€𠀀");
        assert_eq!(bytes.len(), 2 + 2 + 4);
        assert_eq!(read(&bytes, TextEncoding::Gb18030), "零€𠀀");
    }

    #[test]
    fn gbk_declared_file_decodes() {
        let (bytes, _, _) = encoding_rs::GBK.encode("次日达,纸箱");
        assert_eq!(read(&bytes, TextEncoding::Gbk), "次日达,纸箱");
    }
}
