//! `converge inventory -i INV --list|--graph|--host H`: the inventory as converge reads it, in
//! ansible-inventory's formats.

use crate::cli::{exit, InventoryArgs};
use crate::inventory::Inventory;
use serde_json::Value;

pub fn run(args: &InventoryArgs) -> u8 {
    let inv = match Inventory::load(&args.inventory) {
        Ok(i) => i,
        Err(d) => {
            eprint!("{d}");
            return exit::PARSE_ERROR;
        }
    };
    if let Some(h) = &args.host {
        if inv.host(h).is_none() {
            eprintln!("error: host `{h}` is not in the inventory");
            return exit::BAD_OPTIONS;
        }
        return match inv.host_vars(h, None) {
            Ok(v) => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&Value::Object(v)).unwrap_or_default()
                );
                exit::OK
            }
            Err(d) => {
                eprint!("{d}");
                exit::PARSE_ERROR
            }
        };
    }
    if args.graph {
        print!("{}", inv.to_graph(args.group.as_deref()));
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&inv.to_list_json()).unwrap_or_default()
        );
    }
    exit::OK
}
