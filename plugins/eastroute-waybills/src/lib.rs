//! Carrier EASTROUTE (sample): a GBK CSV of waybills, local pick-up times
//! (`2026/11/03 14:05`, China Standard Time), weights in 公斤.

use conform_plugin_sdk::{
    export_plugin, json, standard, Checks, Plugin, Records, Rejected, ResultExt, Row,
};

/// The EASTROUTE waybill mapping.
pub struct EastrouteWaybills;

const CARRIER: &str = "EASTROUTE";

impl Plugin for EastrouteWaybills {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let waybill = checks.take(row.text("运单号"));
        let term = checks.take(row.text("服务"));
        let service = term
            .as_deref()
            .and_then(|t| checks.take(standard::service_level(CARRIER, t).at("服务")));
        let dispatched = checks.take(
            row.text("揽收时间")
                .and_then(|t| standard::parse_time(&t, "%Y/%m/%d %H:%M").at("揽收时间")),
        );
        let origin = checks.take(row.text("始发地"));
        let destination = checks.take(row.text("目的地"));
        let weight = row.text("重量(公斤)").and_then(|v| {
            standard::to_canonical(&v, "公斤", "shipment", "gross_weight_kg").at("重量(公斤)")
        });
        let weight = checks.take(weight);
        let packages = checks.take(row.count("件数"));
        let packaging = checks.take(
            row.text("包装")
                .and_then(|t| standard::package_code(&t).at("包装")),
        );
        checks.finish()?;

        let (service, dispatched) = (service.expect("checked"), dispatched.expect("checked"));
        let promised = standard::add_hours(&dispatched, service.hours)?;
        Ok(Records::one(
            "shipment",
            json!({
                "shipment_id": waybill,
                "carrier_code": CARRIER,
                "service_level": service.level,
                "source_service": term,
                "dispatched_at": dispatched,
                "promised_by": promised,
                "origin": origin,
                "destination": destination,
                "gross_weight_kg": weight,
                "packages": packages,
                "packaging": packaging,
            }),
        ))
    }
}

export_plugin!(EastrouteWaybills);
