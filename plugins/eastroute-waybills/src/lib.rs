//! Carrier EASTROUTE (sample): a GBK CSV of waybills, local pick-up times
//! (`2026/11/03 14:05`, China Standard Time), weights in 公斤.

use conform_plugin_sdk::tables::{whole_hours, CodeList, Quantity, TermLevels, TimeFormat};
use conform_plugin_sdk::{
    export_plugin, Checks, Cx, Plugin, Record, Records, Rejected, ResultExt, Row,
};

/// The EASTROUTE waybill mapping.
pub struct EastrouteWaybills;

const SERVICE_LEVELS: TermLevels = TermLevels::named("service-levels");
const PACKAGING: CodeList = CodeList::named("packaging");
const TIME: TimeFormat = TimeFormat::named("time");
const GROSS_WEIGHT: Quantity = Quantity::named("units", "shipment", "gross_weight_kg");

/// The carrier whose terms these are.
const CARRIER: &str = "EASTROUTE";

impl Plugin for EastrouteWaybills {
    fn convert(row: &Row<'_>, cx: &mut Cx) -> Result<Records, Rejected> {
        let mut checks = Checks::default();
        let waybill = checks.take(row.text("运单号"));
        let term = checks.take(row.text("服务"));
        let service =
            term.and_then(|t| checks.take(SERVICE_LEVELS.resolve(cx, t, Some(CARRIER)).at("服务")));
        let dispatched = checks.take(
            row.text("揽收时间")
                .and_then(|t| TIME.parse_time(cx, t, "%Y/%m/%d %H:%M"))
                .at("揽收时间"),
        );
        let origin = checks.take(row.text("始发地"));
        let destination = checks.take(row.text("目的地"));
        let weight = checks.take(
            row.text("重量(公斤)")
                .and_then(|v| GROSS_WEIGHT.to_canonical(cx, v, "公斤"))
                .at("重量(公斤)"),
        );
        let packages = checks.take(row.count("件数"));
        let packaging = checks.take(
            row.text("包装")
                .and_then(|t| PACKAGING.code(cx, t))
                .at("包装"),
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

export_plugin!(EastrouteWaybills);
