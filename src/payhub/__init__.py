"""PayHub (交易宝): a payment hub between the places people pay and the systems that hold bills and money."""
