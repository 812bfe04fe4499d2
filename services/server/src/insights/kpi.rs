//! Business KPI time series per tenant (daily orders, sessions, incidents, SLA attainment), kept in
//! `kpis.json` in the data folder (temp file, fsync, rename), small enough to hold in memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::InsightsError;

/// Most points one ingest call may carry.
pub const MAX_POINTS_PER_CALL: usize = 100_000;
/// Most points one KPI may hold.
pub const MAX_POINTS_PER_KPI: usize = 1_000_000;

/// One KPI.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KpiSeries {
    /// Unit ("orders", "%").
    pub unit: String,
    /// What it measures.
    pub description: String,
    /// Unix seconds → value.
    pub points: BTreeMap<i64, f64>,
}

#[derive(Default, Serialize, Deserialize)]
struct KpiFile {
    tenants: BTreeMap<String, BTreeMap<String, KpiSeries>>,
}

/// Every tenant's KPIs.
pub struct KpiStore {
    path: PathBuf,
    data: Mutex<KpiFile>,
}

/// Checks a KPI name: 1-100 of `[A-Za-z0-9_.-]`.
pub fn check_name(name: &str) -> Result<(), InsightsError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(InsightsError::invalid("name", "must be 1 to 100 characters of A-Z, a-z, 0-9, '_', '.', '-'"))
    }
}

impl KpiStore {
    /// Opens (or starts) the store at `path`.
    pub fn open(path: &Path) -> Result<KpiStore, InsightsError> {
        let data = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| InsightsError::Storage(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => KpiFile::default(),
            Err(e) => return Err(InsightsError::Storage(format!("{}: {e}", path.display()))),
        };
        Ok(KpiStore { path: path.to_path_buf(), data: Mutex::new(data) })
    }

    fn persist(&self, data: &KpiFile) -> Result<(), InsightsError> {
        super::persist_json(&self.path, data)
    }

    /// Adds points (replacing values at the same second); returns the KPI's point count. Blocking (fsync).
    pub fn ingest(
        &self,
        tenant: &str,
        name: &str,
        unit: &str,
        description: &str,
        points: &[(i64, f64)],
    ) -> Result<u64, InsightsError> {
        check_name(name)?;
        if points.len() > MAX_POINTS_PER_CALL {
            return Err(InsightsError::invalid("points", &format!("at most {MAX_POINTS_PER_CALL} points per call")));
        }
        for (i, (t, v)) in points.iter().enumerate() {
            if !v.is_finite() {
                return Err(InsightsError::invalid(&format!("points[{i}].value"), "must be a finite number"));
            }
            if !(0..=super::MAX_TIME).contains(t) {
                return Err(InsightsError::invalid(&format!("points[{i}].at"), "must be between 1970 and 2100"));
            }
        }
        let mut data = self.data.lock();
        let series = data.tenants.entry(tenant.to_owned()).or_default().entry(name.to_owned()).or_default();
        if !unit.is_empty() {
            series.unit = unit.to_owned();
        }
        if !description.is_empty() {
            series.description = description.to_owned();
        }
        series.points.extend(points.iter().copied());
        if series.points.len() > MAX_POINTS_PER_KPI {
            return Err(InsightsError::invalid("points", &format!("a KPI holds at most {MAX_POINTS_PER_KPI} points")));
        }
        let total = series.points.len() as u64;
        self.persist(&data)?;
        Ok(total)
    }

    /// The tenant's KPIs by name.
    pub fn list(&self, tenant: &str) -> Vec<(String, KpiSeries)> {
        let data = self.data.lock();
        data.tenants.get(tenant).map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    /// One KPI.
    pub fn get(&self, tenant: &str, name: &str) -> Result<KpiSeries, InsightsError> {
        let data = self.data.lock();
        data.tenants
            .get(tenant)
            .and_then(|m| m.get(name))
            .cloned()
            .ok_or_else(|| InsightsError::NotFound(format!("no KPI {name:?}")))
    }

    /// Deletes a KPI; false when there was none. Blocking (fsync).
    pub fn delete(&self, tenant: &str, name: &str) -> Result<bool, InsightsError> {
        let mut data = self.data.lock();
        let removed = data.tenants.get_mut(tenant).and_then(|m| m.remove(name)).is_some();
        if removed {
            self.persist(&data)?;
        }
        Ok(removed)
    }
}

/// Mean KPI value per bucket of `edges` (`None` where no point falls in it).
pub fn bucket_means(series: &KpiSeries, edges: &[i64]) -> Vec<Option<f64>> {
    edges
        .windows(2)
        .map(|w| {
            let (sum, n) = series.points.range(w[0]..w[1]).fold((0.0, 0u32), |(s, n), (_, v)| (s + v, n + 1));
            (n > 0).then(|| sum / f64::from(n))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_persist_and_bucket() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kpis.json");
        let store = KpiStore::open(&path).expect("open");
        assert_eq!(store.ingest("t", "orders", "orders", "", &[(0, 1.0), (10, 3.0), (20, 5.0)]).expect("ingest"), 3);
        assert_eq!(store.ingest("t", "orders", "", "", &[(20, 7.0)]).expect("ingest"), 3);
        assert!(store.ingest("t", "bad name", "", "", &[]).is_err());
        assert!(store.ingest("t", "x", "", "", &[(0, f64::NAN)]).is_err());
        let reopened = KpiStore::open(&path).expect("reopen");
        let s = reopened.get("t", "orders").expect("get");
        assert_eq!(s.unit, "orders");
        assert_eq!(bucket_means(&s, &[0, 15, 30, 45]), vec![Some(2.0), Some(7.0), None]);
        assert!(reopened.get("u", "orders").is_err());
        assert!(reopened.delete("t", "orders").expect("delete"));
    }
}
