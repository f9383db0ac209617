//! The protobuf messages the fake TWS reads and writes, written by hand from the field tags of
//! IB's protobuf API (TWS API 10.35+, server version ≥ 201) as listed in
//! `shared/research/live_connectivity.md` §2.4. Only the fields the fake uses are declared:
//! prost skips unknown fields when decoding, and every field is proto2 `optional` (absent ≠
//! default: ibapi encodes `transmit = false` as an absent field).

use prost::Message;

#[derive(Clone, PartialEq, Message)]
pub struct StartApiRequest {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct NextValidId {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ManagedAccounts {
    #[prost(string, optional, tag = "1")]
    pub accounts_list: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ErrorMessage {
    #[prost(int32, optional, tag = "1")]
    pub id: Option<i32>,
    #[prost(int64, optional, tag = "2")]
    pub error_time: Option<i64>,
    #[prost(int32, optional, tag = "3")]
    pub error_code: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub error_msg: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Contract {
    #[prost(int32, optional, tag = "1")]
    pub con_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub symbol: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub sec_type: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub last_trade_date_or_contract_month: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub strike: Option<f64>,
    #[prost(string, optional, tag = "6")]
    pub right: Option<String>,
    #[prost(double, optional, tag = "7")]
    pub multiplier: Option<f64>,
    #[prost(string, optional, tag = "8")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "10")]
    pub currency: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub local_symbol: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub trading_class: Option<String>,
    #[prost(string, optional, tag = "21")]
    pub last_trade_date: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ContractDetails {
    #[prost(string, optional, tag = "1")]
    pub market_name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub min_tick: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub long_name: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub contract_month: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub time_zone_id: Option<String>,
    #[prost(string, optional, tag = "22")]
    pub real_expiration_date: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ContractDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ContractData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub contract_details: Option<ContractDetails>,
}

/// A message whose only field is a request id (ContractDataEnd, ExecutionDetailsEnd,
/// SecDefOptParameterEnd, TickSnapshotEnd, cancel requests).
#[derive(Clone, PartialEq, Message)]
pub struct ReqIdOnly {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
}

/// A message with no fields (OpenOrdersEnd, PositionEnd, CompletedOrdersEnd).
#[derive(Clone, PartialEq, Message)]
pub struct Empty {}

#[derive(Clone, PartialEq, Message)]
pub struct TickByTickRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub tick_type: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct HistoricalTickLast {
    #[prost(int64, optional, tag = "1")]
    pub time: Option<i64>,
    #[prost(double, optional, tag = "3")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "4")]
    pub size: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub exchange: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct HistoricalTickBidAsk {
    #[prost(int64, optional, tag = "1")]
    pub time: Option<i64>,
    #[prost(double, optional, tag = "3")]
    pub price_bid: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub price_ask: Option<f64>,
    #[prost(string, optional, tag = "5")]
    pub size_bid: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub size_ask: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TickByTickData {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    #[prost(message, optional, tag = "3")]
    pub last: Option<HistoricalTickLast>,
    #[prost(message, optional, tag = "4")]
    pub bid_ask: Option<HistoricalTickBidAsk>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MarketDepthRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(int32, optional, tag = "3")]
    pub num_rows: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MarketDepthData {
    #[prost(int32, optional, tag = "1")]
    pub position: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub operation: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub side: Option<i32>,
    #[prost(double, optional, tag = "4")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "5")]
    pub size: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MarketDepth {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub market_depth_data: Option<MarketDepthData>,
}

#[derive(Clone, PartialEq, Message)]
pub struct MarketDataRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub generic_tick_list: Option<String>,
    #[prost(bool, optional, tag = "4")]
    pub snapshot: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TickPrice {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    #[prost(double, optional, tag = "3")]
    pub price: Option<f64>,
    #[prost(string, optional, tag = "4")]
    pub size: Option<String>,
    #[prost(int32, optional, tag = "5")]
    pub attr_mask: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TickSize {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub size: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TickOptionComputation {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub tick_type: Option<i32>,
    #[prost(int32, optional, tag = "3")]
    pub tick_attrib: Option<i32>,
    #[prost(double, optional, tag = "4")]
    pub implied_vol: Option<f64>,
    #[prost(double, optional, tag = "5")]
    pub delta: Option<f64>,
    #[prost(double, optional, tag = "6")]
    pub opt_price: Option<f64>,
    #[prost(double, optional, tag = "7")]
    pub pv_dividend: Option<f64>,
    #[prost(double, optional, tag = "8")]
    pub gamma: Option<f64>,
    #[prost(double, optional, tag = "9")]
    pub vega: Option<f64>,
    #[prost(double, optional, tag = "10")]
    pub theta: Option<f64>,
    #[prost(double, optional, tag = "11")]
    pub und_price: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SecDefOptParamsRequest {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub underlying_symbol: Option<String>,
    #[prost(int32, optional, tag = "5")]
    pub underlying_con_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SecDefOptParameter {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub exchange: Option<String>,
    #[prost(int32, optional, tag = "3")]
    pub underlying_con_id: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub trading_class: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub multiplier: Option<String>,
    #[prost(string, repeated, tag = "6")]
    pub expirations: Vec<String>,
    #[prost(double, repeated, tag = "7")]
    pub strikes: Vec<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Order {
    #[prost(int32, optional, tag = "1")]
    pub client_id: Option<i32>,
    #[prost(int32, optional, tag = "2")]
    pub order_id: Option<i32>,
    #[prost(int64, optional, tag = "3")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "4")]
    pub parent_id: Option<i32>,
    #[prost(string, optional, tag = "5")]
    pub action: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub total_quantity: Option<String>,
    #[prost(string, optional, tag = "8")]
    pub order_type: Option<String>,
    #[prost(double, optional, tag = "9")]
    pub lmt_price: Option<f64>,
    #[prost(double, optional, tag = "10")]
    pub aux_price: Option<f64>,
    #[prost(string, optional, tag = "11")]
    pub tif: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub account: Option<String>,
    #[prost(string, optional, tag = "27")]
    pub oca_group: Option<String>,
    #[prost(int32, optional, tag = "30")]
    pub oca_type: Option<i32>,
    #[prost(bool, optional, tag = "66")]
    pub transmit: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PlaceOrderRequest {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CancelOrderRequest {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OrderState {
    #[prost(string, optional, tag = "1")]
    pub status: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OpenOrder {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "4")]
    pub order_state: Option<OrderState>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CompletedOrder {
    #[prost(message, optional, tag = "1")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "2")]
    pub order: Option<Order>,
    #[prost(message, optional, tag = "3")]
    pub order_state: Option<OrderState>,
}

#[derive(Clone, PartialEq, Message)]
pub struct OrderStatus {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub status: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub filled: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub remaining: Option<String>,
    #[prost(double, optional, tag = "5")]
    pub avg_fill_price: Option<f64>,
    #[prost(int64, optional, tag = "6")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "7")]
    pub parent_id: Option<i32>,
    #[prost(double, optional, tag = "8")]
    pub last_fill_price: Option<f64>,
    #[prost(int32, optional, tag = "9")]
    pub client_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Execution {
    #[prost(int32, optional, tag = "1")]
    pub order_id: Option<i32>,
    #[prost(string, optional, tag = "2")]
    pub exec_id: Option<String>,
    #[prost(string, optional, tag = "3")]
    pub time: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub acct_number: Option<String>,
    #[prost(string, optional, tag = "5")]
    pub exchange: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub side: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub shares: Option<String>,
    #[prost(double, optional, tag = "8")]
    pub price: Option<f64>,
    #[prost(int64, optional, tag = "9")]
    pub perm_id: Option<i64>,
    #[prost(int32, optional, tag = "10")]
    pub client_id: Option<i32>,
    #[prost(string, optional, tag = "12")]
    pub cum_qty: Option<String>,
    #[prost(double, optional, tag = "13")]
    pub avg_price: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ExecutionDetails {
    #[prost(int32, optional, tag = "1")]
    pub req_id: Option<i32>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(message, optional, tag = "3")]
    pub execution: Option<Execution>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CommissionAndFeesReport {
    #[prost(string, optional, tag = "1")]
    pub exec_id: Option<String>,
    #[prost(double, optional, tag = "2")]
    pub commission_and_fees: Option<f64>,
    #[prost(string, optional, tag = "3")]
    pub currency: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct Position {
    #[prost(string, optional, tag = "1")]
    pub account: Option<String>,
    #[prost(message, optional, tag = "2")]
    pub contract: Option<Contract>,
    #[prost(string, optional, tag = "3")]
    pub position: Option<String>,
    #[prost(double, optional, tag = "4")]
    pub avg_cost: Option<f64>,
}

#[derive(Clone, PartialEq, Message)]
pub struct CurrentTime {
    #[prost(int64, optional, tag = "1")]
    pub current_time: Option<i64>,
}
