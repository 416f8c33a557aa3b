// EventList: a list of event types, one per kind of stream
// (core/events/*_events.h), from which core/events.h builds Event and
// answers which stream kind an event belongs to.
#pragma once

#include <type_traits>
#include <variant>

namespace chronova {

template <typename... Ts>
struct EventList {};

namespace event_list_internal {

template <typename... Lists>
struct Concat;
template <typename... As>
struct Concat<EventList<As...>> {
  using type = EventList<As...>;
};
template <typename... As, typename... Bs, typename... Rest>
struct Concat<EventList<As...>, EventList<Bs...>, Rest...> {
  using type = typename Concat<EventList<As..., Bs...>, Rest...>::type;
};

template <typename List>
struct AsVariant;
template <typename... Ts>
struct AsVariant<EventList<Ts...>> {
  using type = std::variant<Ts...>;
};

template <typename T, typename List>
struct Contains;
template <typename T, typename... Ts>
struct Contains<T, EventList<Ts...>>
    : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};

}  // namespace event_list_internal

// One list of every type in `Lists`, in order.
template <typename... Lists>
using ConcatEventLists = typename event_list_internal::Concat<Lists...>::type;

// std::variant<the list's types...>
template <typename List>
using EventVariant = typename event_list_internal::AsVariant<List>::type;

// Whether `List` holds T.
template <typename T, typename List>
inline constexpr bool kInEventList = event_list_internal::Contains<T, List>::value;

}  // namespace chronova
