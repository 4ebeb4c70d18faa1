//! Carrier SWIFT (sample): NDJSON waybills, pick-up time as Unix epoch
//! milliseconds in UTC, weights in pounds.

use conform_plugin_sdk::{
    export_plugin, json, standard, Checks, Plugin, Records, Rejected, ResultExt, Row,
};

/// The SWIFT waybill mapping.
pub struct SwiftExpress;

const CARRIER: &str = "SWIFT";

impl Plugin for SwiftExpress {
    fn convert(row: &Row) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let waybill = checks.take(row.text("waybill"));
        let term = checks.take(row.text("service"));
        let service = term
            .as_deref()
            .and_then(|t| checks.take(standard::service_level(CARRIER, t).at("service")));
        let dispatched = checks.take(
            row.text("picked_up_ms")
                .and_then(|t| standard::parse_time(&t, "unix-ms").at("picked_up_ms")),
        );
        let origin = checks.take(row.text("from"));
        let destination = checks.take(row.text("to"));
        let weight = row.text("weight_lb").and_then(|v| {
            standard::to_canonical(&v, "lb", "shipment", "gross_weight_kg").at("weight_lb")
        });
        let weight = checks.take(weight);
        let packages = checks.take(row.count("pieces"));
        let packaging = checks.take(
            row.text("pkg")
                .and_then(|t| standard::package_code(&t).at("pkg")),
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

export_plugin!(SwiftExpress);
