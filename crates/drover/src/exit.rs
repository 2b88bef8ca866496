//! Exit codes: the engine's (`drover_engine::exit`), the one place they
//! are written.

pub(crate) use drover_engine::exit::{HOST_FAILED, HOST_UNREACHABLE, SUCCESS, USAGE_OR_CONFIG};
