// The port (`HTTPFetching`, `OutboundRequest`, `InboundResponse`, `HTTPClientError`) lives in the C-free
// HTTPFetchingCore so provider plugins can use it without libcurl; callers of the client still see it here.
@_exported import HTTPFetchingCore
