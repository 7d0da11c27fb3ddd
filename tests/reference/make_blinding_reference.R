# Reference values for tests/test_stats_readers.py (Bang's and James' blinding indices).
# Needs the CRAN package BI (1.2.0): install.packages("BI"); then Rscript make_blinding_reference.R
# Tables (rows: guess arm 1, guess arm 2, don't know; columns: actual arm 1, arm 2) are the examples
# of the package's help page: CRISP (Bang et al. 2004, table 7) and Houweling et al. 2014 (table 2).
library(BI)
ex <- list(
  crisp = c(82, 27, 25, 29, 170, 83),
  houweling_investigators = c(48, 22, 4, 30, 330, 319),
  houweling_coordinators = c(94, 52, 11, 44, 289, 284),
  houweling_patients = c(143, 104, 14, 57, 188, 175)
)
for (nm in names(ex)) {
  x <- matrix(ex[[nm]], nrow = 3, ncol = 2, byrow = TRUE)
  r <- BI(x)
  # james estimate, james se, bang arm 1 estimate, se, bang arm 2 estimate, se
  cat(nm, sprintf("%.15g", c(r$JamesBI[1, 1:2], r$BangBI[1, 1:2], r$BangBI[2, 1:2])), "\n")
}
