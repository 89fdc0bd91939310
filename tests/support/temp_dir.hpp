#pragma once
// A private directory under the system temp dir, removed with everything in
// it when the test is done (kept when PORTICO_TEST_KEEP is set in the
// environment, for a post-mortem). Files are written whole: a reader, such as
// a portico reloading its config, sees the old content or the new, never a part.
#include <filesystem>
#include <string>
#include <string_view>

namespace portico::test {

class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const noexcept { return path_; }
    // A path inside the directory: dir / "plugins" / "dice.so".
    std::filesystem::path operator/(const std::filesystem::path& relative) const { return path_ / relative; }
    // The full path of `relative` (which need not exist).
    std::string file(const std::string& relative) const { return path_ + "/" + relative; }

    // Writes `relative` (creating its parent directories) and returns its full path.
    std::string write(const std::string& relative, std::string_view content = {}) const;
    // Puts a copy of `source` at `relative` as a new file (a new inode), as
    // `cp` to a temporary name and `mv` over `relative` would.
    std::string install(const std::string& source, const std::string& relative) const;

private:
    std::string path_;
};

}  // namespace portico::test
