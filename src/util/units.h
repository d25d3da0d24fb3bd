// Sizes and durations as people write them: the one grammar for each that every flag (and the DR
// plan file) uses, so that "500M" and "15m" mean the same thing everywhere. doc/units.md is the
// user-facing description; keep the two in step.
//
//   LB_ASSIGN_OR_RETURN(uint64_t limit, ParseSize("1.5G"));          // 1610612736
//   LB_ASSIGN_OR_RETURN(std::chrono::seconds wait, ParseDuration("1h30m"));  // 5400 s
//
// Sizes: a decimal number and an optional unit (see ParseSize); every unit is a power of 1024.
// Durations: whole numbers each followed by a unit, m = minutes (see ParseDuration). restic's
// calendar durations for `forget --keep-within*`, where m = months, are a different grammar:
// retention::ParseCalendarDuration, built on SplitDurationParts below.
//
// Errors are InvalidArgument whose message quotes the text, says what is wrong and shows the
// accepted form with examples; callers add the flag's name (Status::WithContext). Pure functions:
// no I/O, no locale, no global state; safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace lifeboat {

// ---------------------------------------------------------------------------------------------
// Sizes

// The largest size ParseSize accepts: 2^63 - 1 bytes (just under 8 EiB), so that every size also
// fits in a signed 64-bit integer.
inline constexpr uint64_t kMaxSize = (uint64_t{1} << 63) - 1;

// Parses a size in bytes: NUMBER[UNIT], e.g. "4096", "500M", "2G", "1.5GiB".
//  - NUMBER: decimal digits, optionally with one fraction ("1.5"; digits on both sides of '.').
//  - UNIT, case-insensitive: none or B = bytes; K, KB, KiB = 1024; M, MB, MiB = 1024^2; G, GB,
//    GiB; T, TB, TiB; P, PB, PiB. Every unit is a power of 1024: "1MB" == "1MiB" == 1048576
//    bytes (restic's convention, and what Lifeboat has always meant).
//  - A fraction needs a unit above bytes; the result is rounded down to a whole byte
//    ("1.1K" = 1126). Zero is a size ("0", "0K"); a flag for which zero makes no sense rejects it.
//  - Blanks around the text are ignored; nothing else may come before, between or after.
// InvalidArgument for an empty text, a sign ("-1", "+5"), a missing number ("K", ".5M"), an
// unknown unit ("5X", "5Mi"), a fraction of a byte ("1.5"), or more than kMaxSize bytes.
Result<uint64_t> ParseSize(std::string_view text);

// For people, not for ParseSize (a blank before the unit, rounded): "512 B", "1.50 KiB",
// "2.00 GiB"; two decimals above bytes, units up to PiB.
std::string FormatBytes(uint64_t bytes);

// ---------------------------------------------------------------------------------------------
// Durations

// The longest duration ParseDuration accepts: 36500 days (about 100 years). Far below what
// int64 nanoseconds hold (292 years), so adding one to a timestamp of this century never
// overflows.
inline constexpr std::chrono::seconds kMaxDuration{int64_t{36500} * 86400};

// Parses a duration: one or more parts "<whole number><unit>", written together, e.g. "90s",
// "15m", "1h30m", "7d", "2w". Units (lowercase): s = seconds, m = MINUTES, h = hours, d = days
// (24 h), w = weeks (7 d). Each unit at most once, in any order. "0s" is zero.
// InvalidArgument for an empty text, a sign, a number without a unit (so "1h30" and "30" are
// refused: the reader cannot tell seconds from minutes), an unknown or uppercase unit, a repeated
// unit, a fraction ("1.5h": write 1h30m), blanks inside, or more than kMaxDuration.
// Blanks around the text are ignored.
Result<std::chrono::seconds> ParseDuration(std::string_view text);

// The canonical form ParseDuration reads back: largest units first, zero parts left out
// ("1w2d3h4m5s", "1h30m", "0s"). REQUIRES: 0 <= d <= kMaxDuration.
std::string DurationToString(std::chrono::seconds d);

// ---------------------------------------------------------------------------------------------
// The tokeniser both duration grammars share

// One part of a duration: "30m" -> {30, 'm'}. What the unit means is the caller's business.
struct DurationPart {
  uint64_t number = 0;
  char unit = 0;
  bool operator==(const DurationPart&) const = default;
};

// Splits `text` into "<digits><unit letter>" parts, in the order written. Blanks around the text
// are ignored. `units` lists the accepted letters (case-sensitive); each may appear at most once.
// Each number is at most `max_number`. On failure, InvalidArgument whose message is only the
// reason, such as "the number 30 has no unit" or "unknown unit 'x'"; the caller says what it
// was parsing and which grammar it expects (see ParseDuration and ParseCalendarDuration).
Result<std::vector<DurationPart>> SplitDurationParts(std::string_view text, std::string_view units,
                                                     uint64_t max_number);

}  // namespace lifeboat
