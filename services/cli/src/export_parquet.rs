//! The Parquet form of an export, for analysts' notebooks (pandas, Polars, DuckDB read it directly):
//! one typed column per field of the flat vocabulary, `created_at`/`ingested_at` as UTC timestamps,
//! snappy-compressed row groups of [`ROW_GROUP`] mentions, so memory stays bounded whatever the size.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use earshot_proto::v1::Mention;
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::json::{flat_row, COLUMNS};

/// Mentions per row group.
const ROW_GROUP: usize = 10_000;

/// The Parquet type of each column of [`COLUMNS`] (by name; anything not listed is text).
fn column_type(name: &str) -> &'static str {
    match name {
        "author_followers" | "likes" | "shares" | "replies" => "INT64",
        "created_at" | "ingested_at" => "INT64 (TIMESTAMP(MILLIS,true))",
        "author_verified" => "BOOLEAN",
        "rating" | "sentiment_score" => "DOUBLE",
        _ => "BYTE_ARRAY (UTF8)",
    }
}

fn schema() -> String {
    let mut s = String::from("message mention {\n");
    for c in COLUMNS {
        let t = column_type(c);
        let (physical, logical) = t.split_once(' ').unwrap_or((t, ""));
        s.push_str(&format!("  REQUIRED {physical} {c} {logical};\n"));
    }
    s.push('}');
    s
}

/// A Parquet file being written.
pub struct ParquetSink {
    writer: SerializedFileWriter<File>,
    rows: Vec<Vec<String>>,
}

impl ParquetSink {
    /// Creates (or replaces) `path`.
    pub fn create(path: &Path) -> anyhow::Result<ParquetSink> {
        let file = File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
        let schema = Arc::new(parse_message_type(&schema())?);
        let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
        Ok(ParquetSink { writer: SerializedFileWriter::new(file, schema, props)?, rows: Vec::new() })
    }

    /// Adds mentions, writing a row group whenever [`ROW_GROUP`] are waiting.
    pub fn write(&mut self, mentions: &[Mention]) -> anyhow::Result<()> {
        self.rows.extend(mentions.iter().map(flat_row));
        while self.rows.len() >= ROW_GROUP {
            let rest = self.rows.split_off(ROW_GROUP);
            let group = std::mem::replace(&mut self.rows, rest);
            self.write_group(&group)?;
        }
        Ok(())
    }

    /// Writes what is left and the file's footer.
    pub fn finish(mut self) -> anyhow::Result<()> {
        let rows = std::mem::take(&mut self.rows);
        if !rows.is_empty() {
            self.write_group(&rows)?;
        }
        self.writer.close()?;
        Ok(())
    }

    fn write_group(&mut self, rows: &[Vec<String>]) -> anyhow::Result<()> {
        let mut group = self.writer.next_row_group()?;
        let mut index = 0;
        while let Some(mut column) = group.next_column()? {
            let name = COLUMNS[index];
            let cells = rows.iter().map(|r| r[index].as_str());
            match column_type(name) {
                "INT64" => {
                    let values: Vec<i64> = cells.map(|c| c.parse().unwrap_or(0)).collect();
                    column.typed::<Int64Type>().write_batch(&values, None, None)?;
                }
                "INT64 (TIMESTAMP(MILLIS,true))" => {
                    let values: Vec<i64> = cells.map(millis).collect();
                    column.typed::<Int64Type>().write_batch(&values, None, None)?;
                }
                "BOOLEAN" => {
                    let values: Vec<bool> = cells.map(|c| c == "true").collect();
                    column.typed::<BoolType>().write_batch(&values, None, None)?;
                }
                "DOUBLE" => {
                    let values: Vec<f64> = cells.map(|c| c.parse().unwrap_or(0.0)).collect();
                    column.typed::<DoubleType>().write_batch(&values, None, None)?;
                }
                _ => {
                    let values: Vec<ByteArray> = cells.map(|c| ByteArray::from(c.as_bytes().to_vec())).collect();
                    column.typed::<ByteArrayType>().write_batch(&values, None, None)?;
                }
            }
            column.close()?;
            index += 1;
        }
        group.close()?;
        Ok(())
    }
}

/// Milliseconds since the epoch of an RFC 3339 time (0 when absent).
fn millis(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).map_or(0, |t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    #[test]
    fn a_written_file_reads_back_with_types() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.parquet");
        let mut sink = ParquetSink::create(&path).expect("create");
        let mentions: Vec<Mention> = (0..25_001)
            .map(|i| Mention {
                id: format!("m{i}"),
                text: format!("text {i}"),
                created_at: Some(prost_types::Timestamp { seconds: 1_700_000_000 + i, nanos: 0 }),
                ..Default::default()
            })
            .collect();
        sink.write(&mentions).expect("write");
        sink.finish().expect("finish");
        let reader = SerializedFileReader::new(File::open(&path).expect("open")).expect("parquet");
        assert_eq!(reader.metadata().file_metadata().num_rows(), 25_001);
        assert_eq!(reader.metadata().num_row_groups(), 3);
        let last = reader.get_row_iter(None).expect("rows").last().expect("a row").expect("readable");
        let fields: Vec<(String, Field)> = last.get_column_iter().map(|(n, f)| (n.clone(), f.clone())).collect();
        assert!(fields.contains(&("id".into(), Field::Str("m25000".into()))));
        assert!(fields
            .iter()
            .any(|(n, f)| n == "created_at" && matches!(f, Field::TimestampMillis(1_700_025_000_000))));
    }
}
