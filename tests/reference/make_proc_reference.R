# Reference values from R's pROC for neocus.stats (ROC, AUC, DeLong variance/CI/tests).
#
# Usage: Rscript tests/reference/make_proc_reference.R [DATA_DIR] [OUT_JSON]
#   DATA_DIR defaults to tests/reference/proc_data (written by make_datasets.py),
#   OUT_JSON defaults to tests/reference/proc_reference.json.
# Needs only base R and pROC (Debian: r-base-core r-cran-proc). Every curve uses
# levels = c(0, 1) and direction = "<" (higher score = more likely positive), as neocus does.

suppressPackageStartupMessages(library(pROC))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[1] else "tests/reference/proc_data"
out_json <- if (length(args) >= 2) args[2] else "tests/reference/proc_reference.json"

# ---- minimal JSON writer (no jsonlite needed): full double precision, Inf as strings
num_json <- function(v) {
  if (is.na(v)) return("null")
  if (is.infinite(v)) return(if (v > 0) "\"Inf\"" else "\"-Inf\"")
  sprintf("%.17g", v)
}
to_json <- function(x) {
  if (is.list(x)) {
    if (!is.null(names(x))) {
      items <- mapply(function(k, v) paste0("\"", k, "\": ", to_json(v)), names(x), x)
      return(paste0("{", paste(items, collapse = ", "), "}"))
    }
    return(paste0("[", paste(vapply(x, to_json, ""), collapse = ", "), "]"))
  }
  if (is.character(x)) {
    if (length(x) == 1) return(paste0("\"", x, "\""))
    return(paste0("[", paste0("\"", x, "\"", collapse = ", "), "]"))
  }
  v <- as.numeric(x)
  if (length(v) == 1) return(num_json(v))
  paste0("[", paste(vapply(v, num_json, ""), collapse = ", "), "]")
}
as_array <- function(v) as.list(as.numeric(v))  # always a JSON array, even of length 1

make_roc <- function(y, s) roc(response = y, predictor = s, levels = c(0, 1), direction = "<", quiet = TRUE)

single_roc <- function(r) {
  ci95 <- as.numeric(ci.auc(r, conf.level = 0.95, method = "delong"))
  ci90 <- as.numeric(ci.auc(r, conf.level = 0.90, method = "delong"))
  best <- coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"),
                 transpose = FALSE)
  list(
    auc = as.numeric(auc(r)),
    var_delong = as.numeric(var(r, method = "delong")),
    ci95_delong = as_array(ci95),
    ci90_delong = as_array(ci90),
    thresholds = as_array(r$thresholds),
    sensitivities = as_array(r$sensitivities),
    specificities = as_array(r$specificities),
    youden_thresholds = as_array(best$threshold),
    youden_sensitivities = as_array(best$sensitivity),
    youden_specificities = as_array(best$specificity)
  )
}

test_json <- function(t) {
  out <- list(
    statistic = as.numeric(t$statistic),
    p_value = as.numeric(t$p.value),
    estimate = as_array(t$estimate)
  )
  if (!is.null(t$parameter)) out$df <- as.numeric(t$parameter)
  if (!is.null(t$conf.int)) out$conf_int <- as_array(t$conf.int)
  out
}

paired_sets <- c("balanced", "imbalanced", "heavy_ties", "tiny", "perfect", "paired_correlated", "ordinal_readers")
unpaired_sets <- c("unpaired_groups", "unpaired_ties")
alternatives <- c("two.sided", "greater", "less")

result <- list(
  generator = "tests/reference/make_proc_reference.R",
  pROC_version = as.character(packageVersion("pROC")),
  R_version = R.version.string,
  paired = list(),
  unpaired = list()
)

for (name in paired_sets) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")))
  ra <- make_roc(d$y, d$score_a)
  rb <- make_roc(d$y, d$score_b)
  tests <- list()
  for (alt in alternatives) {
    tests[[alt]] <- test_json(roc.test(ra, rb, method = "delong", paired = TRUE, alternative = alt))
  }
  result$paired[[name]] <- list(
    model_a = single_roc(ra),
    model_b = single_roc(rb),
    cov_delong = as.numeric(cov(ra, rb, method = "delong")),
    test = tests
  )
}

for (name in unpaired_sets) {
  d <- read.csv(file.path(data_dir, paste0(name, ".csv")))
  a <- d[d$group == "a", ]
  b <- d[d$group == "b", ]
  ra <- make_roc(a$y, a$score)
  rb <- make_roc(b$y, b$score)
  tests <- list()
  for (alt in alternatives) {
    tests[[alt]] <- test_json(roc.test(ra, rb, method = "delong", paired = FALSE, alternative = alt))
  }
  result$unpaired[[name]] <- list(group_a = single_roc(ra), group_b = single_roc(rb), test = tests)
}

writeLines(to_json(result), out_json)
cat("wrote", out_json, "\n")
