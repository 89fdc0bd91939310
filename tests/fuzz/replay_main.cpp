// Runs a fuzz target's LLVMFuzzerTestOneInput once on every file named on the
// command line, or found (not recursively) in the directories named there, as
// libFuzzer would: this is how the corpus and every recorded finding stay
// regression tests in builds without libFuzzer (g++, the sanitizer builds).
//
//   fuzz_<target>_replay PATH...      exit 0 when every input passed
//
// A failing input aborts or trips a sanitizer, so the last "replay:" line
// printed names it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
// Optional, as with libFuzzer: a target that needs one-time set-up defines it.
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

// Dot files (.gitkeep) and READMEs document a directory; they are not inputs.
bool is_input(const fs::path& path) {
    const std::string name = path.filename().string();
    return !name.empty() && name.front() != '.' && name.rfind("README", 0) != 0;
}

bool collect(const fs::path& path, std::vector<fs::path>& inputs) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        std::vector<fs::path> found;
        for (const auto& entry : fs::directory_iterator(path, ec)) {
            if (entry.is_regular_file(ec) && is_input(entry.path())) found.push_back(entry.path());
        }
        if (ec) return false;
        std::sort(found.begin(), found.end());  // the same order on every machine
        inputs.insert(inputs.end(), found.begin(), found.end());
        return true;
    }
    if (fs::is_regular_file(path, ec)) {
        inputs.push_back(path);
        return true;
    }
    return false;
}

// The input in a buffer of exactly its size, so that reading past the end is
// caught by ASan as it is under libFuzzer.
bool replay(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return false;
    std::unique_ptr<std::uint8_t[]> data(new std::uint8_t[bytes.size()]);
    std::copy(bytes.begin(), bytes.end(), data.get());
    LLVMFuzzerTestOneInput(data.get(), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
        return 2;
    }
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        if (!collect(argv[i], inputs)) {
            std::fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
    }
    for (const auto& input : inputs) {
        std::fprintf(stderr, "replay: %s\n", input.string().c_str());
        if (!replay(input)) {
            std::fprintf(stderr, "replay: cannot read %s\n", input.string().c_str());
            return 2;
        }
    }
    std::printf("replay: %zu inputs passed\n", inputs.size());
    return 0;
}
