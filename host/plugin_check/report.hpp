#pragma once
// The checker's report: a header naming the plugin, one line per finding in
// the order found ("ok", "note", "warning" or "PROBLEM", the check, what),
// and a verdict. Meant to fit one screen when all is well.
#include "check_options.hpp"
#include "finding.hpp"

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace portico::plugin_check {

class Report {
public:
    explicit Report(const CheckOptions& options);

    // A fact from the engine process (name, version, description, usage,
    // api); the first value of each is kept.
    void set_info(const std::string& key, const std::string& value);
    // Lines repeated by a restarted engine process are kept once.
    void add(Finding finding);
    void add_saved_file(const std::string& path) { saved_files_.push_back(path); }

    std::size_t count(Severity severity) const;
    bool has_problems() const { return count(Severity::problem) > 0; }
    // 0: no problem; 1: problems; 2: the checker itself failed (check "checker").
    int exit_code() const;
    void print(std::ostream& out) const;

private:
    const CheckOptions& options_;
    std::map<std::string, std::string> info_;
    std::vector<Finding> findings_;
    std::vector<std::string> saved_files_;
};

}  // namespace portico::plugin_check
