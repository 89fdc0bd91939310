#include "gateway/shared_push.hpp"

#include "gateway/gateway_stream.hpp"

namespace portico {

SharedPush::Frame SharedPush::frame(const ReplyContext& context, std::string_view channel) {
    const auto form = static_cast<std::size_t>(context.form == MessageForm::envelope);
    std::string& framed = framed_[form];
    if (framed.empty()) {
        const std::string payload = format_push(context, channel, push_.offset, data_json(), 0);
        const auto header = detail::text_frame_header(payload.size());
        framed.reserve(header.size + payload.size());
        framed.append(header.view());
        framed.append(payload);
        payload_bytes_[form] = payload.size();
    }
    return {framed, payload_bytes_[form]};
}

}  // namespace portico
