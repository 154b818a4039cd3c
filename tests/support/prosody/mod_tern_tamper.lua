-- Test-only Prosody module: a hostile server between two Jingle peers.
--
-- Jingle IQs sent from a full JID whose resource starts with one of the
-- prefixes below are altered in flight, so integration tests can prove what
-- the receiving peer does when signaling lies to it:
--   tamper-fingerprint  every DTLS fingerprint (urn:xmpp:jingle:apps:dtls:0)
--                       gets a different first byte: the certificate the
--                       peer then presents does not match it
--   strip-fingerprint   every DTLS fingerprint is removed
--   tamper-hash         every sha-256 file hash (urn:xmpp:hashes:2/:1) is
--                       replaced by the hash of something else
--   shrink-size         every announced file size (XEP-0234 <size/>) is
--                       halved: the sender then sends more bytes than the
--                       receiver was told
--   grow-size           every announced file size is doubled: the sender
--                       sends fewer bytes than the receiver was told
-- Everything else passes untouched. Loaded only by test servers that ask
-- for it (tern::testbed::Options::tamper).

local jingle_ns = "urn:xmpp:jingle:1";
local dtls_ns = "urn:xmpp:jingle:apps:dtls:0";
local hash_ns = { ["urn:xmpp:hashes:2"] = true, ["urn:xmpp:hashes:1"] = true };
local ft_ns = "urn:xmpp:jingle:apps:file-transfer:5";

local function mode_of(from)
	local resource = from and from:match("/(.*)$");
	if not resource then return nil; end
	for _, mode in ipairs({ "tamper-fingerprint", "strip-fingerprint", "tamper-hash", "shrink-size", "grow-size" }) do
		if resource:sub(1, #mode) == mode then return mode; end
	end
	return nil;
end

-- Calls fn(parent, child) for every descendant element of tag.
local function walk(tag, fn)
	for _, child in ipairs(tag.tags) do
		fn(tag, child);
		walk(child, fn);
	end
end

local function set_text(tag, text)
	for i = #tag, 1, -1 do table.remove(tag, i); end
	tag:text(text);
end

local function tamper(stanza, mode)
	local jingle = stanza:get_child("jingle", jingle_ns);
	if not jingle then return 0; end
	local count = 0;
	if mode == "strip-fingerprint" then
		walk(jingle, function(_, child)
			local before = #child.tags;
			child:remove_children("fingerprint", dtls_ns);
			count = count + before - #child.tags;
		end);
	else
		walk(jingle, function(_, child)
			local text = child:get_text();
			if mode == "tamper-fingerprint" and child.name == "fingerprint" and child.attr.xmlns == dtls_ns
				and text and #text >= 2 then
				local first = text:sub(1, 2) == "00" and "11" or "00";
				set_text(child, first .. text:sub(3));
				count = count + 1;
			elseif mode == "tamper-hash" and child.name == "hash" and hash_ns[child.attr.xmlns]
				and child.attr.algo == "sha-256" then
				-- base64 of SHA-256("tampered")
				set_text(child, "0SG+MQMAe0Ht+W+CYpJfjH1hiUr+mgQYQ7Yx9pRFvFc=");
				count = count + 1;
			elseif (mode == "shrink-size" or mode == "grow-size") and child.name == "size"
				and (child.attr.xmlns == ft_ns or child.attr.xmlns == nil) and tonumber(text or "") then
				local size = tonumber(text);
				set_text(child, string.format("%d", mode == "shrink-size" and size // 2 or size * 2));
				count = count + 1;
			end
		end);
	end
	return count;
end

module:hook("pre-iq/full", function(event)
	local stanza = event.stanza;
	local mode = mode_of(stanza.attr.from or (event.origin and event.origin.full_jid));
	if not mode or stanza.attr.type ~= "set" then return; end
	local count = tamper(stanza, mode);
	if count > 0 then
		module:log("info", "%s: altered %d element(s) in %s to %s", mode, count,
			stanza:get_child("jingle", jingle_ns).attr.action or "?", stanza.attr.to or "?");
	end
end, 1000);
