#include "support/temp_dir.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace portico::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "portico-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = pattern;
}

TempDir::~TempDir() {
    if (std::getenv("PORTICO_TEST_KEEP") != nullptr) return;
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

std::string TempDir::write(const std::string& relative, std::string_view content) const {
    const std::string target = file(relative);
    fs::create_directories(fs::path(target).parent_path());
    const std::string temporary = target + ".writing";
    {
        std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
        out.write(content.data(), static_cast<std::streamsize>(content.size()));
        out.close();
        if (!out) throw std::runtime_error("cannot write " + temporary);
    }
    fs::rename(temporary, target);
    return target;
}

std::string TempDir::install(const std::string& source, const std::string& relative) const {
    const std::string target = file(relative);
    fs::create_directories(fs::path(target).parent_path());
    const std::string temporary = target + ".copying";
    fs::copy_file(source, temporary, fs::copy_options::overwrite_existing);
    fs::rename(temporary, target);
    return target;
}

}  // namespace portico::test
