# Money reads 1,000,000.00 as on the centres' sites.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
DECIMAL_SEPARATOR = "."
