//! A deterministic generator of large versions of the six sample exports:
//! the same formats and encodings, any number of rows, a fixed share of bad
//! rows (one in twenty) of the kinds the samples show.

use std::io::{self, Write};

/// The sample formats the generator writes.
pub const KINDS: [(&str, &str); 6] = [
    ("jinggong-parts", "jinggong-parts.csv"),
    ("hengtai-parts", "hengtai-parts.xml"),
    ("orchard-coop-apples", "orchard-coop-apples.csv"),
    ("valley-farms-apples", "valley-farms-apples.json"),
    ("swift-express", "swift-express.ndjson"),
    ("eastroute-waybills", "eastroute-waybills.csv"),
];

/// One bad row in this many.
pub const BAD_EVERY: u64 = 20;

/// A small deterministic PRNG (xorshift64*): the same seed, the same file.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    /// A decimal with `decimals` places in `[lo, hi)` units of its last place.
    fn decimal(&mut self, lo: u64, hi: u64, decimals: u32) -> String {
        let v = lo + self.below(hi - lo);
        let scale = 10u64.pow(decimals);
        if decimals == 0 {
            v.to_string()
        } else {
            format!(
                "{}.{:0width$}",
                v / scale,
                v % scale,
                width = decimals as usize
            )
        }
    }
}

/// Writes `rows` rows of the format `kind` to `out`.
pub fn generate(kind: &str, rows: u64, out: &mut impl Write) -> io::Result<()> {
    let mut rng = Rng(0x5EED_0000_0000_0001 ^ kind.len() as u64);
    match kind {
        "jinggong-parts" => jinggong(rows, &mut rng, out),
        "hengtai-parts" => hengtai(rows, &mut rng, out),
        "orchard-coop-apples" => orchard(rows, &mut rng, out),
        "valley-farms-apples" => valley(rows, &mut rng, out),
        "swift-express" => swift(rows, &mut rng, out),
        "eastroute-waybills" => eastroute(rows, &mut rng, out),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no generator for `{other}`"),
        )),
    }
}

fn gb(
    out: &mut impl Write,
    encoding: &'static encoding_rs::Encoding,
    text: &str,
) -> io::Result<()> {
    let (bytes, _, _) = encoding.encode(text);
    out.write_all(&bytes)
}

fn jinggong(rows: u64, rng: &mut Rng, out: &mut impl Write) -> io::Result<()> {
    let enc = encoding_rs::GB18030;
    gb(out, enc, "零件号,名称,长度(英寸),宽度(英寸),高度(英寸),公差(英寸),重量(磅),包装,每包数量,供应商代码\r\n")?;
    for i in 1..=rows {
        let line = if i % BAD_EVERY == 0 {
            match (i / BAD_EVERY) % 4 {
                0 => format!("JG-{i},坏件,1.0,1.0,1.0,0.001,N/A,纸箱,10,91370200MA3C1234X5\r\n"),
                1 => format!(",无号{i},1.0,1.0,1.0,0.001,0.1,纸箱,10,91370200MA3C1234X5\r\n"),
                2 => {
                    format!("JG-{i},麻袋件,0.5,0.5,2.0,0.0005,0.08,麻袋,200,91370200MA3C1234X5\r\n")
                }
                _ => format!("JG-{i},螺杯\r\n"),
            }
        } else {
            let name = if i % 7 == 0 {
                format!("\"垫圈, 加厚{i}\"")
            } else {
                format!("零件{i}")
            };
            format!(
                "JG-{i},{name},{},{},{},{},{},{},{},91370200MA3C1234X5\r\n",
                rng.decimal(100, 9000, 3),
                rng.decimal(100, 9000, 3),
                rng.decimal(50, 3000, 3),
                rng.decimal(5, 50, 4),
                rng.decimal(10, 5000, 2),
                rng.pick(&["纸箱", "木箱", "托盘", "塑料筐"]),
                1 + rng.below(500),
            )
        };
        gb(out, enc, &line)?;
    }
    Ok(())
}

fn hengtai(rows: u64, rng: &mut Rng, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PartCatalog supplier=\"91330100MA2H5678Y2\">"
    )?;
    for i in 1..=rows {
        let unit = if i % BAD_EVERY == 0 {
            "mn"
        } else {
            rng.pick(&["mm", "cm", "in"])
        };
        writeln!(
            out,
            "  <Part id=\"HT-{i}\">\n    <Name>螺栓 &lt;{i}&gt;</Name>\n    <Size unit=\"{unit}\" length=\"{}\" width=\"{}\" height=\"{}\"/>\n    <Tolerance unit=\"mm\">{}</Tolerance>\n    <Weight unit=\"{}\">{}</Weight>\n    <Package type=\"{}\" qty=\"{}\"/>\n  </Part>",
            rng.decimal(10, 900, 1),
            rng.decimal(10, 300, 1),
            rng.decimal(10, 300, 1),
            rng.decimal(1, 30, 2),
            rng.pick(&["g", "kg", "lb"]),
            rng.decimal(1, 900, 2),
            rng.pick(&["box", "bag", "carton", "pallet"]),
            1 + rng.below(1000),
        )?;
    }
    writeln!(out, "</PartCatalog>")
}

fn orchard(rows: u64, rng: &mut Rng, out: &mut impl Write) -> io::Result<()> {
    out.write_all(
        "\u{feff}批次号,品种,产地代码,等级,净重(斤),果径(cm),采收日期,包装,件数\r\n".as_bytes(),
    )?;
    for i in 1..=rows {
        let grade = if i % BAD_EVERY == 0 {
            "特等"
        } else {
            rng.pick(&["特级", "一级", "二级", "三级"])
        };
        write!(
            out,
            "QX-{i},红富士,370686,{grade},{},{},2026年10月{}日,{},{}\r\n",
            rng.decimal(200, 600, 1),
            rng.decimal(600, 950, 2),
            1 + rng.below(28),
            rng.pick(&["纸箱", "塑料筐", "编织袋"]),
            1 + rng.below(100),
        )?;
    }
    Ok(())
}

fn valley(rows: u64, rng: &mut Rng, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "[")?;
    for i in 1..=rows {
        let (system, grade) = if i % BAD_EVERY == 0 {
            ("EU", "Class I")
        } else if rng.below(2) == 0 {
            ("GB/T 10651", rng.pick(&["优等品", "一等品", "二等品"]))
        } else {
            (
                "USDA",
                rng.pick(&[
                    "U.S. Extra Fancy",
                    "U.S. Fancy",
                    "U.S. No. 1",
                    "U.S. Utility",
                ]),
            )
        };
        let sep = if i == rows { "" } else { "," };
        writeln!(
            out,
            "{{\"lot\":\"VF-{i}\",\"variety\":\"Fuji\",\"origin\":\"530602\",\"grade_system\":\"{system}\",\"grade\":\"{grade}\",\"net_kg\":{},\"min_diameter_mm\":{},\"harvested\":\"10/{:02}/2026\",\"pack\":\"{}\",\"units\":{}}}{sep}",
            rng.decimal(50, 300, 1),
            60 + rng.below(35),
            1 + rng.below(28),
            rng.pick(&["carton", "crate", "bulk"]),
            1 + rng.below(80),
        )?;
    }
    writeln!(out, "]")
}

fn swift(rows: u64, rng: &mut Rng, out: &mut impl Write) -> io::Result<()> {
    for i in 1..=rows {
        let service = if i % BAD_EVERY == 0 {
            "same-day"
        } else {
            rng.pick(&["next-day", "2-day", "3-day", "economy"])
        };
        writeln!(
            out,
            "{{\"waybill\":\"SWX{i:010}\",\"service\":\"{service}\",\"picked_up_ms\":{},\"from\":\"370200\",\"to\":\"310000\",\"weight_lb\":{},\"pieces\":{},\"pkg\":\"{}\"}}",
            1_793_664_300_000 + rng.below(86_400_000 * 30),
            rng.decimal(1, 20000, 1),
            1 + rng.below(9),
            rng.pick(&["carton", "box", "pallet"]),
        )?;
    }
    Ok(())
}

fn eastroute(rows: u64, rng: &mut Rng, out: &mut impl Write) -> io::Result<()> {
    let enc = encoding_rs::GBK;
    gb(
        out,
        enc,
        "运单号,服务,揽收时间,始发地,目的地,重量(公斤),件数,包装\r\n",
    )?;
    for i in 1..=rows {
        let service = if i % BAD_EVERY == 0 {
            "特快"
        } else {
            rng.pick(&["当日达", "次日达", "隔日达", "经济件"])
        };
        let line = format!(
            "ER{i:011},{service},2026/11/{:02} {:02}:{:02},370200,310000,{},{},{}\r\n",
            1 + rng.below(28),
            rng.below(24),
            rng.below(60),
            rng.decimal(1, 50000, 2),
            1 + rng.below(9),
            rng.pick(&["纸箱", "托盘", "编织袋"]),
        );
        gb(out, enc, &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_rows_every_time_with_one_bad_row_in_twenty() {
        for (kind, _) in KINDS {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            generate(kind, 200, &mut a).unwrap();
            generate(kind, 200, &mut b).unwrap();
            assert_eq!(a, b, "{kind} is deterministic");
            assert!(!a.is_empty());
        }
        let mut csv = Vec::new();
        generate("swift-express", 200, &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert_eq!(text.lines().count(), 200);
        assert_eq!(text.lines().filter(|l| l.contains("same-day")).count(), 10);
    }
}
