import { initSync } from "./sightline.js";

let sharedImports = undefined;
function getSharedImports() {
    if (sharedImports === undefined) {
        sharedImports = { __wasm_split: {  } };
        const { memory, __wasm_split_shared0, __indirect_function_table,  } = initSync(undefined, undefined);
        Object.assign(sharedImports.__wasm_split, { memory, __wasm_split_shared0, __indirect_function_table,  });
    }
    return sharedImports;
}
function wrapAsyncCb(callee) {
    return async (callbackIndex, callbackData) => {
        let success;
        try {
            await callee();
            success = true;
        } catch (e) {
            console.error(e);
            success = false;
        } finally {
            const sharedImports = getSharedImports();
            sharedImports.__wasm_split.__indirect_function_table.get(callbackIndex)(callbackData, success);
        }
    }
}
function makeLoad(fetcher, deps) {
    const loader = async () => {
        const parallelStuff = deps.map(d => d());
        const instantiate = fetcher();
        await Promise.all(parallelStuff);
        const imports = getSharedImports();
        return instantiate(imports);
    };
    let loadingModule = undefined;
    return () => {
        if (loadingModule === undefined) {
            const thisLoad = loader();
            // Memoize successes only: a rejected load must not be cached for
            // the lifetime of the session, or one transient network failure
            // permanently breaks the module. Clearing on rejection lets the
            // next call (e.g. the Rust side re-invoking load after a failed
            // callback) start a fresh attempt.
            thisLoad.catch(() => {
                if (loadingModule === thisLoad) loadingModule = undefined;
            });
            loadingModule = thisLoad;
        }
        return loadingModule;
    }
}
/* custom_range_loader_4294582854984197068, events_feed_loader_2334261439016434962 */
const __chunk_7 = makeLoad(() => {
    const src = fetch(new URL("./chunk_7.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, events_feed_loader_2334261439016434962, line_chart_loader_9794134143795076497 */
const __chunk_8 = makeLoad(() => {
    const src = fetch(new URL("./chunk_8.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, events_feed_loader_2334261439016434962, line_chart_loader_9794134143795076497, settings_form_loader_4779324178665353951 */
const __chunk_9 = makeLoad(() => {
    const src = fetch(new URL("./chunk_9.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, events_feed_loader_2334261439016434962, settings_form_loader_4779324178665353951 */
const __chunk_10 = makeLoad(() => {
    const src = fetch(new URL("./chunk_10.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, follow_18253957304101024503 */
const __chunk_11 = makeLoad(() => {
    const src = fetch(new URL("./chunk_11.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, line_chart_loader_9794134143795076497 */
const __chunk_12 = makeLoad(() => {
    const src = fetch(new URL("./chunk_12.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, line_chart_loader_9794134143795076497, settings_form_loader_4779324178665353951 */
const __chunk_13 = makeLoad(() => {
    const src = fetch(new URL("./chunk_13.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* custom_range_loader_4294582854984197068, settings_form_loader_4779324178665353951 */
const __chunk_14 = makeLoad(() => {
    const src = fetch(new URL("./chunk_14.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* events_feed_loader_2334261439016434962, follow_18253957304101024503 */
const __chunk_15 = makeLoad(() => {
    const src = fetch(new URL("./chunk_15.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* events_feed_loader_2334261439016434962, follow_18253957304101024503, line_chart_loader_9794134143795076497 */
const __chunk_16 = makeLoad(() => {
    const src = fetch(new URL("./chunk_16.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* events_feed_loader_2334261439016434962, line_chart_loader_9794134143795076497 */
const __chunk_17 = makeLoad(() => {
    const src = fetch(new URL("./chunk_17.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* events_feed_loader_2334261439016434962, line_chart_loader_9794134143795076497, settings_form_loader_4779324178665353951 */
const __chunk_18 = makeLoad(() => {
    const src = fetch(new URL("./chunk_18.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* events_feed_loader_2334261439016434962, settings_form_loader_4779324178665353951 */
const __chunk_19 = makeLoad(() => {
    const src = fetch(new URL("./chunk_19.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* follow_18253957304101024503, line_chart_loader_9794134143795076497 */
const __chunk_20 = makeLoad(() => {
    const src = fetch(new URL("./chunk_20.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
/* line_chart_loader_9794134143795076497, settings_form_loader_4779324178665353951 */
const __chunk_21 = makeLoad(() => {
    const src = fetch(new URL("./chunk_21.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []);
export const __wasm_split_load_settings_form_loader_4779324178665353951 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_settings_form_loader_4779324178665353951.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_9, __chunk_10, __chunk_13, __chunk_14, __chunk_18, __chunk_19, __chunk_21]));
export const __wasm_split_load_now_cards_loader_2442321184250621751 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_now_cards_loader_2442321184250621751.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, []));
export const __wasm_split_load_line_chart_loader_9794134143795076497 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_line_chart_loader_9794134143795076497.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_8, __chunk_9, __chunk_12, __chunk_13, __chunk_16, __chunk_17, __chunk_18, __chunk_20, __chunk_21]));
export const __wasm_split_load_follow_18253957304101024503 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_follow_18253957304101024503.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_11, __chunk_15, __chunk_16, __chunk_20]));
export const __wasm_split_load_events_feed_loader_2334261439016434962 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_events_feed_loader_2334261439016434962.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_7, __chunk_8, __chunk_9, __chunk_10, __chunk_15, __chunk_16, __chunk_17, __chunk_18, __chunk_19]));
export const __wasm_split_load_custom_range_loader_4294582854984197068 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./split_custom_range_loader_4294582854984197068.wasm", import.meta.url));
    return async (imports) => (WebAssembly.instantiateStreaming(src, imports));
}
, [__chunk_7, __chunk_8, __chunk_9, __chunk_10, __chunk_11, __chunk_12, __chunk_13, __chunk_14]));
