//! Carrier SWIFT (sample): NDJSON waybills, pick-up time as Unix epoch
//! milliseconds in UTC, weights in pounds.

use conform_plugin_sdk::tables::{whole_hours, CodeList, Quantity, TermLevels, TimeFormat};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row,
};

/// The SWIFT waybill mapping.
pub struct SwiftExpress;

const SERVICE_LEVELS: TermLevels = TermLevels::named("service-levels");
const PACKAGING: CodeList = CodeList::named("packaging");
const TIME: TimeFormat = TimeFormat::named("time");
const GROSS_WEIGHT: Quantity = Quantity::named("units", "shipment", "gross_weight_kg");

/// The carrier whose terms these are.
const CARRIER: &str = "SWIFT";

impl Plugin for SwiftExpress {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let waybill = checks.take(row.text("waybill"));
        let term = checks.take(row.text("service"));
        let service = term
            .and_then(|t| checks.take(SERVICE_LEVELS.resolve(cx, t, Some(CARRIER)).at("service")));
        let dispatched = checks.take(
            row.text("picked_up_ms")
                .and_then(|t| TIME.parse_time(cx, t, "unix-ms"))
                .at("picked_up_ms"),
        );
        let origin = checks.take(row.text("from"));
        let destination = checks.take(row.text("to"));
        let weight = checks.take(
            row.text("weight_lb")
                .and_then(|v| GROSS_WEIGHT.to_canonical(cx, v, "lb"))
                .at("weight_lb"),
        );
        let packages = checks.take(row.count("pieces"));
        let packaging = checks.take(
            row.text("pkg")
                .and_then(|t| PACKAGING.code(cx, t))
                .at("pkg"),
        );
        checks.finish()?;

        let (service, dispatched) = (service.expect("checked"), dispatched.expect("checked"));
        let promised = TIME.add_hours(cx, &dispatched, whole_hours(&service)?)?;
        let mut shipment = Record::new("shipment");
        shipment
            .text("shipment_id", waybill.unwrap_or_default())
            .text("carrier_code", CARRIER)
            .text("service_level", &service.level)
            .text("source_service", term.unwrap_or_default())
            .text("dispatched_at", &dispatched)
            .text("promised_by", &promised)
            .text("origin", origin.unwrap_or_default())
            .text("destination", destination.unwrap_or_default())
            .decimal("gross_weight_kg", weight.as_deref().unwrap_or_default())
            .integer("packages", packages.unwrap_or_default())
            .text("packaging", packaging.as_deref().unwrap_or_default());
        Ok(Records::one(shipment))
    }
}

export_plugin!(SwiftExpress);
