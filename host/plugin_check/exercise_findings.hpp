#pragma once
// Judges what the exercise measured: the reply faults, the call count, the
// slowest calls against the deadline, and the memory growth over the random
// phase. Pure: turns numbers into report lines.
#include "engine_exercise.hpp"
#include "finding.hpp"

#include <cstdint>
#include <vector>

namespace portico::plugin_check {

// Resident memory growth over the random phase beyond which the plugin
// seems to keep something per call.
inline constexpr std::int64_t memory_warning_bytes = 8 * 1024 * 1024;
inline constexpr std::int64_t memory_problem_bytes = 32 * 1024 * 1024;

// AddressSanitizer keeps freed memory in quarantine, and ThreadSanitizer's
// allocator and shadow memory grow with the addresses used: resident memory
// grows whatever the plugin does, so under them growth is shown, not judged.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool memory_is_judged = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool memory_is_judged = false;
#else
inline constexpr bool memory_is_judged = true;
#endif
#else
inline constexpr bool memory_is_judged = true;
#endif

std::vector<Finding> exercise_findings(const ExerciseResult& result, const ExercisePlan& plan,
                                       std::size_t fixed_inputs);

}  // namespace portico::plugin_check
